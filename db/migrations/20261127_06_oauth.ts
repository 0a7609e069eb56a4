import type { Knex } from 'knex';
import { createTable, timestamp } from './helpers.js';

export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'applications', (t) => {
    t.increments('id');
    t.string('name', 150).notNullable();
    t.string('slug', 100).notNullable().unique();
    t.string('client_id', 64).notNullable().unique();
    // SHA-256 of the client secret: the secret itself is shown once and never stored.
    t.string('client_secret_hash', 64).notNullable();
    t.text('redirect_uris').notNullable();
    t.string('consent_mode', 20).notNullable().defaultTo('explicit');
    timestamp(t, 'created').notNullable();
    timestamp(t, 'last_updated').notNullable();
  });
  await createTable(knex, 'consents', (t) => {
    t.increments('id');
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.integer('application_id').unsigned().notNullable().references('id').inTable('applications').onDelete('CASCADE');
    t.string('grant_id', 64).notNullable();
    t.text('scopes').notNullable();
    timestamp(t, 'created').notNullable();
    timestamp(t, 'expires').notNullable();
    t.unique(['user_id', 'application_id']);
    t.index(['application_id'], 'consents_application');
  });
  // What the authorization server stores (grants, codes, tokens, its sessions and interactions),
  // with the columns Roster lists and revokes by.
  await createTable(knex, 'oauth_artifacts', (t) => {
    t.string('id', 128).notNullable();
    t.string('kind', 40).notNullable();
    t.text('payload').notNullable();
    t.string('grant_id', 64).nullable();
    t.string('uid', 64).nullable();
    t.integer('user_id').unsigned().nullable().references('id').inTable('users').onDelete('CASCADE');
    t.integer('application_id').unsigned().nullable().references('id').inTable('applications').onDelete('CASCADE');
    timestamp(t, 'expires').nullable();
    timestamp(t, 'consumed').nullable();
    timestamp(t, 'created').notNullable();
    t.primary(['kind', 'id']);
    t.index(['grant_id'], 'oauth_artifacts_grant');
    t.index(['uid'], 'oauth_artifacts_uid');
    t.index(['user_id', 'kind'], 'oauth_artifacts_user_kind');
    t.index(['expires'], 'oauth_artifacts_expires');
  });
  await createTable(knex, 'oauth_keys', (t) => {
    t.string('kid', 64).primary();
    t.text('jwk').notNullable();
    timestamp(t, 'created').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oauth_keys');
  await knex.schema.dropTable('oauth_artifacts');
  await knex.schema.dropTable('consents');
  await knex.schema.dropTable('applications');
}
