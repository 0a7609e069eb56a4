import type { Knex } from 'knex';
import { createTable, timestamp } from './helpers.js';

export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'events', (t) => {
    t.bigIncrements('id');
    t.string('action', 64).notNullable();
    // No foreign key: an event keeps its user snapshot after the user is deleted.
    t.integer('user_pk').unsigned().nullable();
    t.text('user').notNullable();
    t.string('app', 100).notNullable();
    t.text('context').notNullable();
    t.string('client_ip', 45).nullable();
    timestamp(t, 'created').notNullable();
    t.index(['user_pk', 'created'], 'events_user_created');
    t.index(['action', 'created'], 'events_action_created');
    t.index(['created'], 'events_created');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('events');
}
