import type { Knex } from 'knex';
import { createTable, timestamp } from './helpers.js';

/**
 * Scheduled offboarding (app/directory/users/offboarding/):
 *
 * - `scheduled_actions`: at most one per user (the unique index on user_id: a new one replaces the
 *   old). Either `run_at` or `idle_days` says when; `due` is when the scheduler looks at it next: the
 *   time itself, or for an idle rule the earliest it can come due (the last login as it was, plus
 *   the days), moved on when the user has logged in since. Rows are pending or failed; an action
 *   that ran is gone (its event is the record). Indexes: (state, due) for the scheduler's "what is
 *   due", (due) for the list's order.
 * - `leases`: a named lease held by one process until it expires (the scheduler's, so that one
 *   process at a time does the work).
 */
export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'scheduled_actions', (t) => {
    t.increments('id');
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('action', 16).notNullable();
    timestamp(t, 'run_at').nullable();
    t.integer('idle_days').nullable();
    timestamp(t, 'due').notNullable();
    t.string('reason', 200).notNullable().defaultTo('');
    // Who scheduled it, as events keep their user: no foreign key, the name stays after they go.
    t.integer('created_by_id').unsigned().nullable();
    t.string('created_by_name', 150).notNullable();
    timestamp(t, 'created').notNullable();
    t.string('state', 16).notNullable().defaultTo('pending');
    t.string('failure', 500).nullable();
    timestamp(t, 'failed_at').nullable();
    t.unique(['user_id'], { indexName: 'scheduled_actions_user' });
    t.index(['state', 'due'], 'scheduled_actions_state_due');
    t.index(['due'], 'scheduled_actions_due');
  });
  await createTable(knex, 'leases', (t) => {
    t.string('name', 64).notNullable().primary();
    t.string('holder', 100).notNullable();
    timestamp(t, 'expires').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('leases');
  await knex.schema.dropTable('scheduled_actions');
}
