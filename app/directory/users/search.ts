import type { Knex } from 'knex';
import { whereStartsWith } from '../../db.js';
import { initialsOf, searchWords, usernameKey } from './terms.js';

/**
 * How the users list, its export and the API search (the words are kept by terms.ts): a word of
 * the search is a range of user_terms, which each user of the result must have a row in.
 */
/** What a search asks of a user: its words (each at the start of a word of the user), and its text folded whole. */
export interface Match {
  words: string[];
  /** The search folded whole: usernames starting with it come first in the best-match order. */
  key: string;
}

export function matchOf(q: string): Match | null {
  return q ? { words: searchWords(q), key: usernameKey(q) } : null;
}

/**
 * The users (of the table or alias `users`) that the search matches: for each word, a row of
 * theirs in user_terms, after the initials in the row's index say it may be there. A search of
 * punctuation only has no words: it matches usernames that start with it.
 */
export function whereMatches(qb: Knex.QueryBuilder, match: Match, users = 'users'): void {
  if (!match.words.length) {
    whereStartsWith(qb, `${users}.username_key`, match.key);
    return;
  }
  const bits = initialsOf(match.words);
  qb.whereRaw(`(??.?? & ?) = ?`, [users, 'initials', bits, bits]);
  whereHasWords(qb, match.words, `${users}.id`);
}

/** The users (by the id column `userId`) who have a word starting with each of the words. */
export function whereHasWords(qb: Knex.QueryBuilder, words: string[], userId: string): void {
  for (const word of words) {
    qb.whereExists((sub) => {
      sub.select(sub.client.raw('1')).from('user_terms as w').whereRaw('?? = ??', ['w.user_id', userId]);
      whereStartsWith(sub, 'w.term', word);
    });
  }
}
