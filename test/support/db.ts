import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { migrate, openDb } from '../../app/db.js';

/** Which database this mocha run targets: the runner (test/run.ts) runs the suite once per database. */
export const TEST_DB: 'sqlite' | 'mysql' = process.env.TEST_DB === 'mysql' ? 'mysql' : 'sqlite';

// Children first, so that deleting never trips a foreign key.
const TABLES = [
  'leases',
  'scheduled_actions',
  'search_words',
  'login_failures',
  'known_browsers',
  'api_tokens',
  'recovery_codes',
  'authenticators',
  'oauth_artifacts',
  'consents',
  'applications',
  'oauth_keys',
  'recovery_tokens',
  'events',
  'sessions',
  'group_memberships',
  'groups',
  'users',
];

let mysqlPrepared: Promise<void> | undefined;

async function dropTables(db: Knex): Promise<void> {
  const [rows] = await db.raw('select table_name as name from information_schema.tables where table_schema = database()');
  await db.raw('set foreign_key_checks = 0');
  for (const { name } of rows as { name: string }[]) await db.schema.dropTableIfExists(name);
  await db.raw('set foreign_key_checks = 1');
}

async function prepareMysql(url: string): Promise<void> {
  const db = openDb(url);
  try {
    await dropTables(db);
    await migrate(db);
  } finally {
    await db.destroy();
  }
}

/**
 * A database without tables, for a test of the migrations: a new SQLite file, or the MariaDB test
 * database with its tables dropped (the next freshDb() migrates it again).
 */
export async function unmigratedDb(): Promise<Knex> {
  if (TEST_DB === 'sqlite') return openDb(`sqlite:${path.join(os.tmpdir(), `roster-test-${randomBytes(6).toString('hex')}.sqlite3`)}`);
  const url = process.env.TEST_MYSQL_URL;
  if (!url) throw new Error('TEST_DB=mysql needs TEST_MYSQL_URL (mysql://user:pass@127.0.0.1:3306/db)');
  const db = openDb(url);
  await dropTables(db);
  mysqlPrepared = undefined;
  return db;
}

/** A migrated, empty database: a new SQLite file, or the MariaDB test database emptied. */
export async function freshDb(): Promise<{ db: Knex; url: string }> {
  if (TEST_DB === 'sqlite') {
    const url = `sqlite:${path.join(os.tmpdir(), `roster-test-${randomBytes(6).toString('hex')}.sqlite3`)}`;
    const db = openDb(url);
    await migrate(db);
    return { db, url };
  }
  const url = process.env.TEST_MYSQL_URL;
  if (!url) throw new Error('TEST_DB=mysql needs TEST_MYSQL_URL (mysql://user:pass@127.0.0.1:3306/db)');
  mysqlPrepared ??= prepareMysql(url);
  await mysqlPrepared;
  const db = openDb(url);
  for (const table of TABLES) await db(table).delete();
  return { db, url };
}
