import type { Knex } from 'knex';

/** A millisecond-precision timestamp column (DATETIME(3) on MySQL, epoch milliseconds on SQLite). */
export function timestamp(table: Knex.CreateTableBuilder, name: string): Knex.ColumnBuilder {
  return table.datetime(name, { precision: 3 });
}

/** Creates a table; on MySQL in utf8mb4 on InnoDB. */
export function createTable(knex: Knex, name: string, build: (table: Knex.CreateTableBuilder) => void): Knex.SchemaBuilder {
  const mysql = knex.client.config.client === 'mysql2';
  return knex.schema.createTable(name, (table) => {
    if (mysql) {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
      table.engine('InnoDB');
    }
    build(table);
  });
}

/**
 * A text column compared without regard to case, so that prefix searches can use its index:
 * MySQL's utf8mb4_unicode_ci does this already; SQLite needs COLLATE NOCASE (ASCII letters).
 */
export function caseInsensitiveString(knex: Knex, table: Knex.CreateTableBuilder, name: string, length: number): Knex.ColumnBuilder {
  return knex.client.config.client === 'mysql2'
    ? table.string(name, length)
    : table.specificType(name, `varchar(${length}) collate nocase`);
}
