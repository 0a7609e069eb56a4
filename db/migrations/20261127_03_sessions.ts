import type { Knex } from 'knex';
import { createTable, timestamp } from './helpers.js';

export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'sessions', (t) => {
    // A public id for lists and checkboxes; the session id itself never leaves the cookie.
    t.increments('id');
    t.string('sid', 128).notNullable().unique();
    t.integer('user_id').unsigned().nullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('data').notNullable();
    t.string('last_ip', 45).nullable();
    t.string('last_user_agent', 512).nullable();
    timestamp(t, 'last_used').notNullable();
    timestamp(t, 'expires').notNullable().index('sessions_expires');
    timestamp(t, 'created').notNullable();
    t.index(['user_id', 'last_used'], 'sessions_user_last_used');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sessions');
}
