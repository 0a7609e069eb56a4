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
const LETTERS: Record<string, string> = {
  ς: 'σ',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
  ħ: 'h',
  ŧ: 't',
};
const LETTER = /[ςßæœøłđðþıħŧ]/g;

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

/**
 * The words of folded text: its runs of letters and its runs of digits, so "muller42" is "muller"
 * and "42" (a search for "muller4" is "muller" and "4", and finds it). Kept whole, such words would
 * be one per user ("muller1", "muller2"…), and the list could not read a common beginning's users
 * word by word.
 */
function wordsOf(folded: string): string[] {
  return (folded.match(/\p{L}+|\p{N}+/gu) ?? []).map((word) => head(word, TERM_MAX));
}

/** The longest name key kept (the name folded, for the list's order by name). */
export const NAME_KEY_MAX = 255;

/** A name folded, for the list's order by name: the same order on both databases, whatever their collations. */
export function nameKey(name: string): string {
  return head(fold(name), NAME_KEY_MAX);
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
  return [...new Set([...wordsOf(text.replace(APOSTROPHES, '')), ...wordsOf(text.replace(APOSTROPHES, ' '))])];
}

/**
 * A bit for each letter that a word starts with (a–z; one bit for digits, one for anything else):
 * a user's bits are kept in the list's indexes, so a search skips users who cannot match without
 * reading their words.
 */
export function initialsOf(words: readonly string[]): number {
  let bits = 0;
  for (const word of words) {
    const c = word.charCodeAt(0);
    bits |= 1 << (c >= 97 && c <= 122 ? c - 97 : c >= 48 && c <= 57 ? 26 : 27);
  }
  return bits;
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
  last_login: Date | number | null;
}

/** The columns of a user that its search rows are made of. */
export const INDEXED_COLUMNS = ['id', 'username', 'name', 'email', 'path', 'is_active', 'last_login'] as const;

/**
 * Writes the search rows of these users anew from their stored rows: call it, in the transaction
 * that wrote them, after any change to a user's username, name, e-mail, folder or status.
 */
export async function indexUsers(db: Db, ids: number[]): Promise<void> {
  if (!ids.length) return;
  const users: Indexed[] = await db('users')
    .whereIn('id', ids)
    .select(...INDEXED_COLUMNS);
  await db('user_terms').whereIn('user_id', ids).delete();
  await writeTerms(db, users);
}

/**
 * Copies a new status or folder into the search rows of these users, whose words stay the same:
 * one statement however many users change (a bulk deactivation, a move), where indexUsers would
 * write all their words again.
 *
 * Each changed row moves in five indexes. MariaDB changes the rows in the order of the table (by
 * word), so that the indexes led by the word are changed in their order too: 20–25% faster for a
 * thousand users at a million (bench/README.md). SQLite's UPDATE has no ORDER BY; Knex leaves it out.
 */
export async function restampTerms(db: Db, ids: number[], change: { is_active: boolean } | { path: string }): Promise<void> {
  if (ids.length) await db('user_terms').whereIn('user_id', ids).orderBy(['term', 'user_id']).update(change);
}

/** The keys a user's row keeps for the list's orders and its search (written with the search rows). */
export function userKeys(user: { username: string; name: string; email: string }) {
  return { username_key: usernameKey(user.username), name_key: nameKey(user.name), initials: initialsOf(termsOf(user)) };
}

/**
 * Inserts the search rows and username keys of users that have none yet (new users, a backfill),
 * and adds their words to the words that users have (search_words, which keeps a word once).
 * `keysWritten`: the users' rows were inserted with their keys (userKeys) already.
 */
export async function writeTerms(db: Db, users: Indexed[], { keysWritten = false } = {}): Promise<void> {
  const rows = users.flatMap((u) => {
    const common = {
      user_id: u.id,
      path: u.path,
      is_active: Boolean(u.is_active),
      username: u.username,
      username_key: usernameKey(u.username),
      name_key: nameKey(u.name),
      last_login: u.last_login,
    };
    return termsOf(u).map((term) => ({ term, ...common }));
  });
  for (let i = 0; i < rows.length; i += 200) await db('user_terms').insert(rows.slice(i, i + 200));
  // In order, so that two transactions adding the same new words take their locks in one order.
  const words = [...new Set(rows.map((row) => row.term))].sort();
  for (let i = 0; i < words.length; i += 500)
    await db('search_words')
      .insert(words.slice(i, i + 500).map((term) => ({ term })))
      .onConflict('term')
      .ignore();
  for (let i = 0; !keysWritten && i < users.length; i += 300) {
    const part = users.slice(i, i + 300);
    const cases = (value: (u: Indexed) => string | number) =>
      db.raw(
        `case id ${part.map(() => 'when ? then ?').join(' ')} end`,
        part.flatMap((u) => [u.id, value(u)]),
      );
    await db('users')
      .whereIn(
        'id',
        part.map((u) => u.id),
      )
      .update({
        username_key: cases((u) => usernameKey(u.username)),
        name_key: cases((u) => nameKey(u.name)),
        initials: cases((u) => initialsOf(termsOf(u))),
      } as never);
  }
}
