import type { Knex } from 'knex';

/**
 * What decides whether an account may sign in, beside is_active: an optional end of validity (the
 * account is Expired from then on) and a lock set by the brute-force protection (Locked until then,
 * with the reason shown to admins). Each has an index, for the list's status filter and for the
 * scheduler that looks for what has come due.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.datetime('valid_until').nullable();
    t.datetime('locked_until').nullable();
    t.string('lock_reason', 200).nullable();
    t.index(['valid_until'], 'users_valid_until');
    t.index(['locked_until'], 'users_locked_until');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropIndex([], 'users_valid_until');
    t.dropIndex([], 'users_locked_until');
  });
  await knex.schema.alterTable('users', (t) => t.dropColumns('valid_until', 'locked_until', 'lock_reason'));
}
