import type { Knex } from 'knex';
import { writeTerms } from '../../app/directory/users/terms.js';

/**
 * Each word's users in the list's orders (app/directory/users/list-query.ts, "runs"): the rows of
 * one word in user_terms, ordered by username and by folded name, with the status and folder
 * beside them. A word that many users have but that sits in one stretch of an order (a first name
 * in the order by name) is then read from its own rows in that order, a page at a time, instead of
 * walking the whole order up to that stretch.
 *
 * `user_terms.name_key` is the user's `users.name_key`, kept with the other copies (path, status,
 * username) by terms.ts. Existing rows are filled in batches of users; users that have no rows yet
 * (a database that had users before 20261202_10) get theirs written here, by terms.ts, which
 * writes every column user_terms has from now on. The indexes are built last.
 */
export const config = { transaction: false };

const BATCH = 10_000;

export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  await knex.schema.alterTable('user_terms', (t) => {
    const column = t.string('name_key', 255).notNullable().defaultTo('');
    if (mysql) column.collate('utf8mb4_bin');
  });
  const [{ max }] = await knex('users').max({ max: 'id' });
  for (let from = 1; from <= Number(max ?? 0); from += BATCH) {
    const to = from + BATCH - 1;
    if (mysql)
      await knex.raw('update user_terms t join users u on u.id = t.user_id set t.name_key = u.name_key where t.user_id between ? and ?', [
        from,
        to,
      ]);
    else
      await knex.raw(
        'update user_terms set name_key = (select name_key from users where users.id = user_terms.user_id) where user_id between ? and ?',
        [from, to],
      );
  }
  for (let after = 0; ; ) {
    const users = await knex('users')
      .where('id', '>', after)
      .whereNotExists((rows) => rows.select(knex.raw('1')).from('user_terms').whereRaw('user_terms.user_id = users.id'))
      .orderBy('id')
      .limit(2000)
      .select('id', 'username', 'name', 'email', 'path', 'is_active');
    if (!users.length) break;
    await knex.transaction((trx) => writeTerms(trx, users));
    after = users[users.length - 1].id;
  }
  await knex.schema.alterTable('user_terms', (t) => {
    t.index(['term', 'username', 'is_active', 'path'], 'user_terms_username');
    t.index(['term', 'name_key', 'username', 'is_active', 'path'], 'user_terms_name');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_terms', (t) => {
    t.dropIndex([], 'user_terms_username');
    t.dropIndex([], 'user_terms_name');
  });
  await knex.schema.alterTable('user_terms', (t) => t.dropColumn('name_key'));
}
