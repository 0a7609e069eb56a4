import type { Knex } from 'knex';
import { createTable, timestamp } from './helpers.js';

export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'authenticators', (t) => {
    t.increments('id');
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('type', 20).notNullable();
    t.string('name', 100).notNullable();
    t.boolean('confirmed').notNullable().defaultTo(false);
    // TOTP: the shared secret and the last time step used (no replays). WebAuthn: the credential's
    // id, public key, counter and transports. Recovery codes: nothing (their hashes have a table).
    t.text('data').notNullable();
    timestamp(t, 'created').notNullable();
    timestamp(t, 'last_used').nullable();
    t.index(['user_id', 'type'], 'authenticators_user_type');
  });
  await createTable(knex, 'recovery_codes', (t) => {
    t.increments('id');
    t.integer('authenticator_id').unsigned().notNullable().references('id').inTable('authenticators').onDelete('CASCADE');
    t.string('code_hash', 64).notNullable().unique();
    timestamp(t, 'used_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('recovery_codes');
  await knex.schema.dropTable('authenticators');
}
