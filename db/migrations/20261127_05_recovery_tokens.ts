import type { Knex } from 'knex';
import { createTable, timestamp } from './helpers.js';

export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'recovery_tokens', (t) => {
    t.increments('id');
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    // SHA-256 of the token: the token itself is never stored.
    t.string('token_hash', 64).notNullable().unique();
    timestamp(t, 'expires').notNullable();
    timestamp(t, 'used_at').nullable();
    timestamp(t, 'created').notNullable();
    t.index(['user_id'], 'recovery_tokens_user');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('recovery_tokens');
}
