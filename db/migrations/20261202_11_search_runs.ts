import type { Knex } from 'knex';
import { INDEXED_COLUMNS, writeTerms } from '../../app/directory/users/terms.js';
import { timestamp } from './helpers.js';

/**
 * Each word's users in the list's orders (app/directory/users/list-query.ts, "runs"):
 *
 * - `user_terms` keeps beside each word the user's folded name and last login too, and has an
 *   index per order (username, folded name, last login) after the word, with the status and folder:
 *   a word that many users have but that sits in one stretch of an order (a first name in the
 *   order by name) is read from its own rows in that order, a page at a time, instead of walking
 *   the whole order up to that stretch;
 * - `search_words` keeps every distinct word once: the list asks which stored words a search word
 *   begins, and a range of this table is a few index entries, where the same question of
 *   user_terms reads every row of a common word on MariaDB (it does not skip from one word to the
 *   next). A word is added with its first user and never removed: a word that no user has any
 *   more is an empty run.
 *
 * Every user's words are written anew, in batches, by terms.ts: words are now split between
 * letters and digits ("muller42" is "muller" and "42"), and a database from before 20261202_10 has
 * none yet. This stays the newest migration of the search's tables, as terms.ts writes them.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  await knex.schema.alterTable('user_terms', (t) => {
    const column = t.string('name_key', 255).notNullable().defaultTo('');
    if (mysql) column.collate('utf8mb4_bin');
    timestamp(t, 'last_login').nullable();
  });
  if (mysql)
    await knex.raw(
      'create table search_words (term varchar(64) character set utf8mb4 collate utf8mb4_bin not null primary key) engine=InnoDB',
    );
  else await knex.raw('create table search_words (term varchar(64) not null primary key) without rowid');
  for (let after = 0; ; ) {
    const users = await knex('users')
      .where('id', '>', after)
      .orderBy('id')
      .limit(2000)
      .select(...INDEXED_COLUMNS);
    if (!users.length) break;
    await knex.transaction(async (trx) => {
      await trx('user_terms')
        .whereBetween('user_id', [users[0].id, users[users.length - 1].id])
        .delete();
      await writeTerms(trx, users);
    });
    after = users[users.length - 1].id;
  }
  await knex.schema.alterTable('user_terms', (t) => {
    t.index(['term', 'username', 'is_active', 'path'], 'user_terms_username');
    t.index(['term', 'name_key', 'username', 'is_active', 'path'], 'user_terms_name');
    t.index(['term', 'last_login', 'username', 'is_active', 'path'], 'user_terms_last_login');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('search_words');
  await knex.schema.alterTable('user_terms', (t) => {
    t.dropIndex([], 'user_terms_username');
    t.dropIndex([], 'user_terms_name');
    t.dropIndex([], 'user_terms_last_login');
  });
  await knex.schema.alterTable('user_terms', (t) => {
    t.dropColumn('name_key');
    t.dropColumn('last_login');
  });
}
