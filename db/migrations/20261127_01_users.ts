import type { Knex } from 'knex';
import { caseInsensitiveString, createTable, timestamp } from './helpers.js';

export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'users', (t) => {
    t.increments('id');
    t.string('uuid', 36).notNullable().unique();
    // Usernames are case-sensitive: a binary collation keeps "Ana" and "ana" apart on MySQL.
    t.string('username', 150).notNullable().collate('utf8mb4_bin').unique();
    caseInsensitiveString(knex, t, 'name', 255).notNullable().defaultTo('');
    caseInsensitiveString(knex, t, 'email', 254).notNullable().defaultTo('');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.string('path', 200).notNullable().defaultTo('users');
    t.string('type', 20).notNullable().defaultTo('internal');
    t.text('attributes').notNullable();
    t.string('password', 128).nullable();
    timestamp(t, 'password_change_date').nullable();
    timestamp(t, 'last_login').nullable();
    timestamp(t, 'date_joined').notNullable();
    timestamp(t, 'last_updated').notNullable();
    // The list filters by folder and sorts by these columns; username breaks ties for keyset paging.
    t.index(['path', 'username'], 'users_path_username');
    t.index(['name', 'username'], 'users_name_username');
    t.index(['email', 'username'], 'users_email_username');
    t.index(['last_login', 'username'], 'users_last_login_username');
    t.index(['is_active', 'username'], 'users_active_username');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
}
