import type { Knex } from 'knex';
import { createTable } from './helpers.js';

/**
 * The users list's search and its plans (app/directory/users/search.ts, list-query.ts):
 *
 * - `user_terms`: every user's words, folded, with the user's folder and status beside them, so
 *   that a word, or a word in a folder, is a range of an index that holds all the list filters on.
 * - `users.username_key` (the username folded whole, for the best-match order), `users.name_key`
 *   (the name folded: the order by name is the same on both databases, whose collations differ) and
 *   `users.initials` (a bit for each letter a word of the user starts with: the list can skip a
 *   user who cannot match without reading that user's words).
 * - The list's indexes: one per order (username, name, last login, status, best match), holding
 *   what the filters read (status, initials, folder), so that walking an order and filtering needs
 *   no row; and the same per folder (folder first), for a folder's page in any order.
 *
 * Compared by code point on both databases (utf8mb4_bin on MariaDB). Existing users' words are
 * written by the next migration (20261202_11), with the columns user_terms has since.
 */
const ORDERS: [string, string[]][] = [
  ['username', ['username']],
  ['name', ['name_key', 'username']],
  ['last_login', ['last_login', 'username']],
  ['active', ['is_active', 'username']],
  ['key', ['username_key', 'username']],
];
const OLD_INDEXES: [string, string[]][] = [
  ['users_path_username', ['path', 'username']],
  ['users_name_username', ['name', 'username']],
  ['users_last_login_username', ['last_login', 'username']],
  ['users_active_username', ['is_active', 'username']],
];
const FILTERS = ['is_active', 'initials'];

/** MySQL commits around DDL anyway. */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  await knex.schema.alterTable('users', (t) => {
    const key = t.string('username_key', 150).notNullable().defaultTo('');
    const name = t.string('name_key', 255).notNullable().defaultTo('');
    if (mysql) for (const column of [key, name]) column.collate('utf8mb4_bin');
    t.integer('initials').notNullable().defaultTo(0);
  });
  // Each word's rows lie together, ordered by user, with the folder, status and (folded) username
  // beside them: a word's users in the best-match order are a range of the primary key alone
  // (SQLite: WITHOUT ROWID), sorted; a word in a folder a range of (path, term).
  if (mysql) {
    await createTable(knex, 'user_terms', (t) => {
      t.string('term', 64).notNullable().collate('utf8mb4_bin');
      t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
      t.string('path', 200).notNullable().collate('utf8mb4_bin');
      t.boolean('is_active').notNullable();
      t.string('username', 150).notNullable().collate('utf8mb4_bin');
      t.string('username_key', 150).notNullable().collate('utf8mb4_bin');
      t.primary(['term', 'user_id']);
      t.index(['user_id', 'term'], 'user_terms_user');
      t.index(['path', 'term', 'is_active', 'username_key', 'username'], 'user_terms_path');
    });
  } else {
    await knex.raw(
      'create table user_terms (term varchar(64) not null, user_id integer not null references users (id) on delete cascade, path varchar(200) not null, is_active boolean not null, username varchar(150) not null, username_key varchar(150) not null, primary key (term, user_id)) without rowid',
    );
    await knex.raw('create index user_terms_user on user_terms (user_id, term)');
    await knex.raw('create index user_terms_path on user_terms (path, term, is_active, username_key, username)');
  }
  await knex.schema.alterTable('users', (t) => {
    for (const [name, columns] of OLD_INDEXES) t.dropIndex(columns, name);
    for (const [name, order] of ORDERS) {
      t.index([...order, ...FILTERS.filter((c) => !order.includes(c)), 'path'], `users_list_${name}`);
      t.index(['path', ...order, ...FILTERS.filter((c) => !order.includes(c))], `users_folder_${name}`);
    }
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('user_terms');
  await knex.schema.alterTable('users', (t) => {
    for (const [name] of ORDERS) {
      t.dropIndex([], `users_list_${name}`);
      t.dropIndex([], `users_folder_${name}`);
    }
    for (const [name, columns] of OLD_INDEXES) t.index(columns, name);
  });
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('username_key');
    t.dropColumn('name_key');
    t.dropColumn('initials');
  });
}
