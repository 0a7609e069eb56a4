import type { Knex } from 'knex';
import { createTable, timestamp } from './helpers.js';

export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'api_tokens', (t) => {
    t.increments('id');
    t.string('identifier', 100).notNullable().unique();
    t.string('description', 255).notNullable().defaultTo('');
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    // SHA-256 of the secret: the secret is shown once and never stored.
    t.string('key_hash', 64).notNullable().unique();
    timestamp(t, 'expires').nullable();
    timestamp(t, 'revoked').nullable();
    timestamp(t, 'created').notNullable();
    timestamp(t, 'last_used').nullable();
    t.index(['user_id'], 'api_tokens_user');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_tokens');
}
