import type { Knex } from 'knex';
import { writeTerms } from '../../app/directory/users/search.js';
import { createTable } from './helpers.js';

/**
 * The users list's search (app/directory/users/search.ts): every user's words, folded, with the
 * user's folder and status so that a word and a folder are one index range; and each username
 * folded whole (`username_key`) for the best-match order. Compared by code point on both databases.
 * Existing users are indexed in batches.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  await knex.schema.alterTable('users', (t) => {
    const key = t.string('username_key', 150).notNullable().defaultTo('');
    if (mysql) key.collate('utf8mb4_bin');
    t.index(['username_key', 'username'], 'users_username_key');
  });
  // Each word's rows lie together, ordered by user, with the folder and status beside them: a range
  // of words with a folder is read from the primary key alone (SQLite: WITHOUT ROWID).
  if (mysql) {
    await createTable(knex, 'user_terms', (t) => {
      t.string('term', 64).notNullable().collate('utf8mb4_bin');
      t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
      t.string('path', 200).notNullable().collate('utf8mb4_bin');
      t.boolean('is_active').notNullable();
      t.primary(['term', 'user_id']);
      t.index(['user_id', 'term'], 'user_terms_user');
    });
  } else {
    await knex.raw(
      'create table user_terms (term varchar(64) not null, user_id integer not null references users (id) on delete cascade, path varchar(200) not null, is_active boolean not null, primary key (term, user_id)) without rowid',
    );
    await knex.raw('create index user_terms_user on user_terms (user_id, term)');
  }
  for (let after = 0; ; ) {
    const users = await knex('users')
      .where('id', '>', after)
      .orderBy('id')
      .limit(2000)
      .select('id', 'username', 'name', 'email', 'path', 'is_active');
    if (!users.length) break;
    await knex.transaction((trx) => writeTerms(trx, users));
    after = users[users.length - 1].id;
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('user_terms');
  await knex.schema.alterTable('users', (t) => {
    t.dropIndex(['username_key', 'username'], 'users_username_key');
    t.dropColumn('username_key');
  });
}
