import type { Knex } from 'knex';

/**
 * Folder paths, group names and token identifiers compare exactly on MySQL/MariaDB, as usernames
 * do, and as SQLite compares every one of them: a binary collation. Under utf8mb4_unicode_ci the
 * folder `fold` also meant `Fold` and `föld`, and its range of subfolders (`fold/` up to `fold0`)
 * held `fold#x`, since `#` sorts between `/` and `0` there; two groups could not differ by case or
 * accents on MariaDB while SQLite allowed it. The indexes on these columns are rebuilt with them.
 */
const COLUMNS = [
  { table: 'users', column: 'path', type: "varchar(200) not null default 'users'" },
  { table: 'groups', column: 'name', type: 'varchar(150) not null' },
  { table: 'api_tokens', column: 'identifier', type: 'varchar(100) not null' },
];

async function collate(knex: Knex, collation: string): Promise<void> {
  if (knex.client.config.client !== 'mysql2') return;
  for (const { table, column, type } of COLUMNS) {
    await knex.raw(
      `alter table \`${table}\` modify \`${column}\` ${type.replace(' not null', ` character set utf8mb4 collate ${collation} not null`)}`,
    );
  }
}

export const up = (knex: Knex) => collate(knex, 'utf8mb4_bin');
export const down = (knex: Knex) => collate(knex, 'utf8mb4_unicode_ci');
