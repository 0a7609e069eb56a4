import type { Knex } from 'knex';

/** A connection or a transaction (as app/db.ts's Db; imported from knex so that the migration that indexes existing users needs nothing of app/db.ts). */
type Db = Knex | Knex.Transaction;

/**
 * The search of the users list: what a person types is found at the start of any word of a user's
 * username, name or e-mail, whatever its case and accents. "muller", "Müller" and "MUL" find
 * "Ana Müller"; "dana" and "Fix" find `fixture.dana`; "ana mul" finds users with both words.
 *
 * Each user's words are kept, folded, in `user_terms` (one row per distinct word, with the user's
 * folder and status beside it), so a word is a range of an index on both databases, and the same
 * JavaScript folds what is stored and what is searched: SQLite and MariaDB give the same answers.
 */

/** Letters that Unicode decomposition leaves alone but a reader takes for others. */
const LETTERS: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i', ħ: 'h', ŧ: 't' };
const LETTER = /[ßæœøłđðþıħŧ]/g;

/** Text without case and accents: "Müller" and "MULLER" are both "muller", "Łukasz" is "lukasz". */
export function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(LETTER, (c) => LETTERS[c]);
}

/** The longest word kept, in characters; longer ones are cut, the same when stored and searched. */
export const TERM_MAX = 64;
/** The longest username key kept (the username folded, for the best-match order). */
export const KEY_MAX = 150;

function head(text: string, max: number): string {
  return text.length <= max ? text : [...text].slice(0, max).join('');
}

const APOSTROPHES = /['’ʼ]/g;

function wordsOf(folded: string): string[] {
  return folded
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((word) => head(word, TERM_MAX));
}

/** A user's username folded whole, punctuation kept: the best match comes first in its order. */
export function usernameKey(username: string): string {
  return head(fold(username), KEY_MAX);
}

/**
 * The distinct words of a user: the username's and e-mail's parts between `.`, `_`, `-`, `@` (and
 * any other punctuation), the name's words. "O'Brien" gives "obrien" and also "o" and "brien".
 */
export function termsOf(user: { username: string; name: string; email: string }): string[] {
  const text = fold(`${user.username} ${user.name} ${user.email}`);
  return [...new Set([...wordsOf(text.replace(APOSTROPHES, '')), ...wordsOf(text)])];
}

/** The most words a search uses; a longer search narrows by its first eight. */
const WORDS_MAX = 8;

/**
 * The words of a search, each to be found at the start of a word of the user. A word that begins
 * another one of the search says nothing more and is left out ("an ana" is "ana").
 */
export function searchWords(q: string): string[] {
  const words = [...new Set(wordsOf(fold(q).replace(APOSTROPHES, '')))];
  return words.filter((w, i) => !words.some((other, j) => j !== i && other.startsWith(w) && (other !== w || j < i))).slice(0, WORDS_MAX);
}

interface Indexed {
  id: number;
  username: string;
  name: string;
  email: string;
  path: string;
  is_active: boolean | number;
}

/**
 * Writes the search rows of these users anew from their stored rows: call it, in the transaction
 * that wrote them, after any change to a user's username, name, e-mail, folder or status.
 */
export async function indexUsers(db: Db, ids: number[]): Promise<void> {
  if (!ids.length) return;
  const users: Indexed[] = await db('users').whereIn('id', ids).select('id', 'username', 'name', 'email', 'path', 'is_active');
  await db('user_terms').whereIn('user_id', ids).delete();
  await writeTerms(db, users);
}

/** Inserts the search rows and username keys of users that have none yet (new users, a backfill). */
export async function writeTerms(db: Db, users: Indexed[]): Promise<void> {
  const rows = users.flatMap((u) => termsOf(u).map((term) => ({ term, user_id: u.id, path: u.path, is_active: Boolean(u.is_active) })));
  // SQLite takes at most 999 bindings a statement in older builds; 4 columns a row.
  for (let i = 0; i < rows.length; i += 200) await db('user_terms').insert(rows.slice(i, i + 200));
  const keyed = users.filter((u) => u.username);
  for (let i = 0; i < keyed.length; i += 400) {
    const part = keyed.slice(i, i + 400);
    await db('users')
      .whereIn(
        'id',
        part.map((u) => u.id),
      )
      .update({
        username_key: db.raw(
          `case id ${part.map(() => 'when ? then ?').join(' ')} end`,
          part.flatMap((u) => [u.id, usernameKey(u.username)]),
        ),
      } as never);
  }
}
