import type { Knex } from 'knex';
import { createTable, timestamp } from './helpers.js';

export async function up(knex: Knex): Promise<void> {
  await createTable(knex, 'groups', (t) => {
    t.increments('id');
    t.string('uuid', 36).notNullable().unique();
    t.string('name', 150).notNullable().unique();
    t.boolean('is_superuser').notNullable().defaultTo(false).index('groups_is_superuser');
    t.text('attributes').notNullable();
    timestamp(t, 'created').notNullable();
    timestamp(t, 'last_updated').notNullable();
  });
  await createTable(knex, 'group_memberships', (t) => {
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.integer('group_id').unsigned().notNullable().references('id').inTable('groups').onDelete('CASCADE');
    t.primary(['user_id', 'group_id']);
    t.index(['group_id', 'user_id'], 'group_memberships_group_user');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('group_memberships');
  await knex.schema.dropTable('groups');
}
