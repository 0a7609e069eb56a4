import type { Knex } from 'knex';

/**
 * Each word's users in the best-match order (folded username, username), as 20261202_11 made for
 * the other orders: a word whose users' usernames group together in that order (a last name in
 * `first.last` usernames) is read from its own rows a page at a time.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_terms', (t) => {
    t.index(['term', 'username_key', 'username', 'is_active', 'path'], 'user_terms_key');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_terms', (t) => t.dropIndex([], 'user_terms_key'));
}
