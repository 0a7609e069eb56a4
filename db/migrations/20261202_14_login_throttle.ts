import type { Knex } from 'knex';
import { createTable, timestamp } from './helpers.js';

/**
 * The brute-force protection's state (app/auth/throttle/), shared by every process:
 * - login_failures: one row per counter ("bucket": an address, an account, an account seen from
 *   one client, a second-factor step, recovery links from one address), named by a SHA-256 of what
 *   it counts so that no address or username is stored in the clear and every key has one length.
 *   `account` ties a row to the account it is about (the hash of the username), so that unlocking
 *   clears them all and the account's addresses can be counted; `expires` lets old rows be swept.
 * - known_browsers: the browsers a user has logged in from (a hash of the browser cookie's id);
 *   such a browser is not held back by what other clients did.
 */
export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'login_failures', (t) => {
    t.string('bucket', 64).primary();
    t.string('kind', 16).notNullable();
    t.string('account', 64).nullable();
    t.integer('failures').notNullable();
    timestamp(t, 'window_ends').notNullable();
    timestamp(t, 'last_failure').notNullable();
    timestamp(t, 'blocked_until').nullable();
    timestamp(t, 'noted_at').nullable();
    timestamp(t, 'expires').notNullable();
    t.index(['account', 'last_failure'], 'login_failures_account');
    t.index(['expires'], 'login_failures_expires');
  });
  await createTable(knex, 'known_browsers', (t) => {
    t.increments('id');
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('browser_hash', 64).notNullable();
    timestamp(t, 'created').notNullable();
    timestamp(t, 'last_used').notNullable();
    t.unique(['user_id', 'browser_hash'], { indexName: 'known_browsers_user_browser' });
    t.index(['last_used'], 'known_browsers_last_used');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('known_browsers');
  await knex.schema.dropTable('login_failures');
}
