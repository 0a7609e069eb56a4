import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import knexPkg from 'knex';
import { migrations } from '../db/migrations/index.js';

const knex = knexPkg.knex;

export type Db = Knex | Knex.Transaction;

export interface UserRow {
  id: number;
  uuid: string;
  username: string;
  name: string;
  email: string;
  is_active: boolean | number;
  path: string;
  type: string;
  attributes: string;
  password: string | null;
  password_change_date: Date | number | null;
  last_login: Date | number | null;
  date_joined: Date | number;
  last_updated: Date | number;
  /** The username folded (case, accents), for the list's best-match order. */
  username_key: string;
  /** The name folded, for the list's order by name. */
  name_key: string;
  /** A bit per letter that a word of the user starts with (app/directory/users/terms.ts). */
  initials: number;
  /** The account is Expired from then on (null: never). */
  valid_until: Date | number | null;
  /** Locked by the brute-force protection until then, and why. */
  locked_until: Date | number | null;
  lock_reason: string | null;
  /** The provisioning client's identifier (SCIM externalId). */
  external_id: string | null;
  /** The API token that created the user over SCIM. */
  provisioned_by: number | null;
}

export interface GroupRow {
  id: number;
  uuid: string;
  name: string;
  is_superuser: boolean | number;
  attributes: string;
  created: Date | number;
  last_updated: Date | number;
  external_id: string | null;
  provisioned_by: number | null;
}

export interface MembershipRow {
  user_id: number;
  group_id: number;
}

export interface SessionRow {
  id: number;
  sid: string;
  user_id: number | null;
  data: string;
  last_ip: string | null;
  last_user_agent: string | null;
  last_used: Date | number;
  expires: Date | number;
  created: Date | number;
}

export interface EventRow {
  id: number;
  action: string;
  user_pk: number | null;
  user: string;
  app: string;
  context: string;
  client_ip: string | null;
  created: Date | number;
}

export interface RecoveryTokenRow {
  id: number;
  user_id: number;
  token_hash: string;
  expires: Date | number;
  used_at: Date | number | null;
  created: Date | number;
}

export interface ApplicationRow {
  id: number;
  name: string;
  slug: string;
  client_id: string;
  client_secret_hash: string;
  redirect_uris: string;
  consent_mode: string;
  created: Date | number;
  last_updated: Date | number;
}

export interface ConsentRow {
  id: number;
  user_id: number;
  application_id: number;
  grant_id: string;
  scopes: string;
  created: Date | number;
  expires: Date | number;
}

export interface OauthArtifactRow {
  id: string;
  kind: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_id: number | null;
  application_id: number | null;
  expires: Date | number | null;
  consumed: Date | number | null;
  created: Date | number;
}

export interface AuthenticatorRow {
  id: number;
  user_id: number;
  type: string;
  name: string;
  confirmed: boolean | number;
  data: string;
  created: Date | number;
  last_used: Date | number | null;
}

export interface ApiTokenRow {
  id: number;
  identifier: string;
  description: string;
  user_id: number;
  key_hash: string;
  expires: Date | number | null;
  revoked: Date | number | null;
  created: Date | number;
  last_used: Date | number | null;
  /** api, or scim (only /scim/v2). */
  purpose: string;
  /** A SCIM token's folder: it sees and writes only users there and below (null: everywhere). */
  path: string | null;
}

export interface LoginFailureRow {
  bucket: string;
  kind: string;
  account: string | null;
  failures: number;
  window_ends: Date | number;
  last_failure: Date | number;
  blocked_until: Date | number | null;
  noted_at: Date | number | null;
  expires: Date | number;
}

export interface KnownBrowserRow {
  id: number;
  user_id: number;
  browser_hash: string;
  created: Date | number;
  last_used: Date | number;
}

/** An offboarding waiting for its time (app/directory/users/offboarding/), or one that failed. */
export interface ScheduledActionRow {
  id: number;
  user_id: number;
  action: string;
  run_at: Date | number | null;
  idle_days: number | null;
  /** When the scheduler looks at it next. */
  due: Date | number;
  reason: string;
  created_by_id: number | null;
  created_by_name: string;
  created: Date | number;
  /** pending or failed; 'running' only inside the transaction that runs it. */
  state: string;
  failure: string | null;
  failed_at: Date | number | null;
}

/** A named lease: one process holds it until it expires. */
export interface LeaseRow {
  name: string;
  holder: string;
  expires: Date | number;
}

declare module 'knex/types/tables.js' {
  interface Tables {
    api_tokens: ApiTokenRow;
    authenticators: AuthenticatorRow;
    recovery_codes: { id: number; authenticator_id: number; code_hash: string; used_at: Date | number | null };
    applications: ApplicationRow;
    consents: ConsentRow;
    oauth_artifacts: OauthArtifactRow;
    oauth_keys: { kid: string; jwk: string; created: Date | number };
    users: UserRow;
    groups: GroupRow;
    group_memberships: MembershipRow;
    sessions: SessionRow;
    events: EventRow;
    recovery_tokens: RecoveryTokenRow;
    login_failures: LoginFailureRow;
    known_browsers: KnownBrowserRow;
    scheduled_actions: ScheduledActionRow;
    leases: LeaseRow;
  }
}

interface SqliteConnection {
  pragma(sql: string): unknown;
  prepare(sql: string): unknown;
  function(name: string, options: { deterministic: boolean }, fn: (value: unknown) => unknown): unknown;
}

/**
 * SQL's lower() for all of Unicode on SQLite, whose own folds ASCII only: SCIM filters on
 * case-insensitive attributes compare lowered text, and must find on SQLite what MariaDB finds.
 */
export const UNICODE_LOWER = 'unicode_lower';

/** How many compiled statements a SQLite connection keeps for reuse. */
const STATEMENTS_KEPT = 200;

/**
 * Knex asks better-sqlite3 to compile every statement it runs anew; compiling the list's page query
 * costs about as much as running it. The connection keeps the last STATEMENTS_KEPT statements by
 * their SQL text and hands the same one back (least recently used first out). Safe, as Knex runs a
 * statement to its end (all() or run()) before it asks for another, changes none of its settings
 * (nothing here uses safeIntegers), and SQLite recompiles a kept statement by itself after a schema
 * change. Only the compiled SQL is kept: no data, and each process has its own.
 */
function reusePreparedStatements(conn: SqliteConnection): void {
  const prepare = conn.prepare.bind(conn);
  const kept = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let statement = kept.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      if (kept.size >= STATEMENTS_KEPT) kept.delete(kept.keys().next().value!);
    } else {
      kept.delete(sql);
    }
    kept.set(sql, statement);
    return statement;
  };
}

/** Opens a Knex handle for a DATABASE_URL (mysql://… or sqlite:<file>). Does not connect yet. */
export function openDb(url: string): Knex {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (filename !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(filename)), { recursive: true });
    return knex({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
          reusePreparedStatements(conn);
          conn.function(UNICODE_LOWER, { deterministic: true }, (value) => (typeof value === 'string' ? value.toLowerCase() : value));
          conn.pragma('foreign_keys = ON');
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('synchronous = NORMAL');
          done(null, conn);
        },
      },
    });
  }
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  return knex({
    client: 'mysql2',
    connection: {
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.slice(1)),
      charset: 'utf8mb4',
      timezone: 'Z',
      supportBigNumbers: true,
      connectTimeout: 5000,
    },
    pool: { min: 0, max: 10 },
  });
}

const mariaDb = new WeakMap<object, Promise<boolean>>();

/** Whether the server is MariaDB (which has SET STATEMENT max_statement_time); asked once per pool. */
export function isMariaDb(db: Db): Promise<boolean> {
  if (isSqlite(db)) return Promise.resolve(false);
  const client = db.client as object;
  let known = mariaDb.get(client);
  if (!known) {
    known = db.raw('select version() as v').then(([rows]) => /mariadb/i.test(String(rows[0].v)));
    mariaDb.set(client, known);
  }
  return known;
}

/**
 * A table read through the given index, whatever the planner would pick: on a small table MariaDB
 * sorts all rows for a page rather than read the page from its index, and SQLite sometimes reads
 * another index than the one that holds the order.
 */
export function throughIndex(db: Db, table: string, index: string, alias = table): Knex.Raw {
  return db.raw(isSqlite(db) ? '?? as ?? indexed by ??' : '?? as ?? force index (??)', [table, alias, index]);
}

export function isSqlite(db: Db): boolean {
  return db.client.config.client === 'better-sqlite3';
}

/** The URL with its password masked, for messages. */
export function describeDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};

export const migratorConfig: Knex.MigratorConfig = { migrationSource, tableName: 'knex_migrations' };

export async function migrate(db: Knex): Promise<string[]> {
  const [, applied] = await db.migrate.latest(migratorConfig);
  return applied as string[];
}

/** better-sqlite3 returns timestamps as epoch milliseconds, mysql2 as Date: one place makes them Dates. */
export function toDate(value: Date | number | string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(value);
}

/**
 * Deletes the rows the query selects and returns the keys of the rows this transaction deleted.
 * The rows are locked first (FOR UPDATE; SQLite runs one transaction at a time anyway), so requests
 * deleting the same rows at once wait for each other and each one learns what it removed itself:
 * the events and counts it records are then true. Call it inside a transaction.
 */
export async function deleteSelected<K extends string | number>(query: Knex.QueryBuilder, key: string): Promise<K[]> {
  const keys: K[] = await query.clone().forUpdate().pluck(key);
  if (keys.length) await query.clone().whereIn(key, keys).delete();
  return keys;
}

/**
 * The first string after every string that starts with the prefix, in code point order: the prefix
 * with its last character raised by one (past the surrogates, which are not characters), or, when
 * that character is the last one (U+10FFFF), the prefix without it, raised. Null when there is no
 * such string (an empty prefix, or one of U+10FFFF only): then the range has no upper end.
 */
export function prefixEnd(prefix: string): string | null {
  const chars = [...prefix];
  while (chars.length) {
    const last = chars.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) return chars.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return null;
}

/**
 * "The column starts with the prefix" as a range, which the column's index serves where LIKE would
 * not (SQLite's LIKE ignores case, so it cannot use a normal index). Only for columns compared by
 * code point: SQLite's default collation, utf8mb4_bin on MariaDB (username, path, group name).
 */
export function whereStartsWith(qb: Knex.QueryBuilder, column: string | Knex.Raw, prefix: string): void {
  const ref = columnRef(qb, column);
  qb.where(ref, '>=', prefix);
  const end = prefixEnd(prefix);
  if (end !== null) qb.where(ref, '<', end);
}

/** A column by name, or an expression of it, as one type for Knex's where clauses. */
export function columnRef(qb: Knex.QueryBuilder, column: string | Knex.Raw): Knex.Raw {
  return typeof column === 'string' ? qb.client.raw('??', [column]) : column;
}

/** whereStartsWith as SQL text and bindings, for a select list or a raw statement. */
export function startsWithSql(column: string, prefix: string): [string, string[]] {
  const end = prefixEnd(prefix);
  return end === null ? ['?? >= ?', [column, prefix]] : ['(?? >= ? and ?? < ?)', [column, prefix, column, end]];
}

export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Whether the database gave up a transaction to break a deadlock: it rolled back, and may be run again. */
export function isDeadlock(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ER_LOCK_DEADLOCK';
}
