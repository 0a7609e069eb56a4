import type { Knex } from 'knex';

/**
 * SCIM provisioning (app/scim/):
 *
 * - `users.external_id`, `groups.external_id`: the provisioning client's own identifier
 *   (`externalId`), compared case-sensitively (utf8mb4_bin) like usernames; indexed, as clients look
 *   resources up by it. Not unique: two clients may use the same identifiers.
 * - `users.provisioned_by`, `groups.provisioned_by`: the id of the API token that created the
 *   resource. No foreign key: the record stays true after the token is deleted, and deleting a token
 *   writes no user row. Indexed for the tokens page's counts and for a folder-bound token's groups.
 * - `api_tokens.purpose`: `api` (the /api/v3 API and form posts) or `scim` (only /scim/v2);
 *   `api_tokens.path`: for a SCIM token, the folder it is bound to (null: the whole directory).
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  for (const table of ['users', 'groups'] as const) {
    await knex.schema.alterTable(table, (t) => {
      const column = t.string('external_id', 255).nullable();
      if (mysql) column.collate('utf8mb4_bin');
      t.integer('provisioned_by').unsigned().nullable();
      t.index(['external_id'], `${table}_external_id`);
      t.index(['provisioned_by'], `${table}_provisioned_by`);
    });
  }
  await knex.schema.alterTable('api_tokens', (t) => {
    t.string('purpose', 16).notNullable().defaultTo('api');
    const path = t.string('path', 200).nullable();
    if (mysql) path.collate('utf8mb4_bin');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('api_tokens', (t) => {
    t.dropColumn('purpose');
    t.dropColumn('path');
  });
  for (const table of ['users', 'groups'] as const) {
    await knex.schema.alterTable(table, (t) => {
      t.dropIndex(['external_id'], `${table}_external_id`);
      t.dropIndex(['provisioned_by'], `${table}_provisioned_by`);
      t.dropColumn('external_id');
      t.dropColumn('provisioned_by');
    });
  }
}
