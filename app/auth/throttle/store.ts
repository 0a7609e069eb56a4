import type { Db, LoginFailureRow } from '../../db.js';
import { isSqlite, toDate } from '../../db.js';
import { type Kind, LIMITS, windowMs } from './rules.js';

/** A counter as the rules read it: a row whose window has ended counts no failures. */
export interface Bucket {
  key: string;
  kind: Kind;
  failures: number;
  blockedUntil: Date | null;
}

/** A counter to add a failure to: its key, what it counts, and the account it is about. */
export interface BucketRef {
  key: string;
  kind: Kind;
  account?: string;
}

function toBucket(row: LoginFailureRow, now: Date): Bucket {
  const blockedUntil = toDate(row.blocked_until);
  return {
    key: row.bucket,
    kind: row.kind as Kind,
    failures: toDate(row.window_ends)! > now ? Number(row.failures) : 0,
    blockedUntil: blockedUntil && blockedUntil > now ? blockedUntil : null,
  };
}

/** The counters by key; a key without a row (or only an ended one) reads as no failures. */
export async function readBuckets(db: Db, keys: string[], now = new Date()): Promise<Map<string, Bucket>> {
  const rows = keys.length ? await db('login_failures').whereIn('bucket', keys) : [];
  return new Map(rows.map((row) => [row.bucket, toBucket(row, now)]));
}

/**
 * Adds one failure to each counter, each in one statement that every process may run at once: a
 * new counter is inserted, an existing one incremented in place (never read, then written), and
 * one whose window has ended starts again at 1. One row per statement, so that no statement waits
 * for one row while holding another (MariaDB would answer crossed waits with a deadlock). Returns
 * the counters as they are afterwards.
 *
 * The SET list is written for both databases: SQLite computes each value from the row before the
 * update, MySQL from the row as the list has changed it so far — so no value reads a column that
 * an earlier assignment changed.
 */
export async function addFailure(db: Db, refs: BucketRef[], now = new Date()): Promise<Map<string, Bucket>> {
  const incoming = (column: string) => (isSqlite(db) ? `excluded.${column}` : `values(${column})`);
  const sql = `insert into login_failures (bucket, kind, account, failures, window_ends, last_failure, expires)
     values (?, ?, ?, 1, ?, ?, ?)
     ${isSqlite(db) ? 'on conflict (bucket) do update set' : 'on duplicate key update'}
       failures = case when login_failures.window_ends <= ? then 1 else login_failures.failures + 1 end,
       window_ends = case when login_failures.window_ends <= ? then ${incoming('window_ends')} else login_failures.window_ends end,
       last_failure = ${incoming('last_failure')},
       expires = case when login_failures.expires < ${incoming('expires')} then ${incoming('expires')} else login_failures.expires end`;
  for (const ref of refs) {
    const ends = new Date(now.getTime() + windowMs(ref.kind));
    await db.raw(sql, [ref.key, ref.kind, ref.account ?? null, ends, now, ends, now, now]);
  }
  return readBuckets(
    db,
    refs.map((ref) => ref.key),
    now,
  );
}

/** Blocks the counter's client until then, unless it is blocked longer already (so racing requests agree). */
export async function blockBucket(db: Db, key: string, until: Date): Promise<void> {
  await db('login_failures')
    .where({ bucket: key })
    .where((q) => q.whereNull('blocked_until').orWhere('blocked_until', '<', until))
    .update({ blocked_until: until, expires: db.raw('case when expires < ? then ? else expires end', [until, until]) });
}

/**
 * Whether a refused attempt on this counter should be recorded: true for the first refusal, then
 * at most once per LIMITS.noteEveryMs. One conditional update decides, so racing requests record once.
 */
export async function shouldNote(db: Db, key: string, now = new Date()): Promise<boolean> {
  const noted = await db('login_failures')
    .where({ bucket: key })
    .where((q) => q.whereNull('noted_at').orWhere('noted_at', '<=', new Date(now.getTime() - LIMITS.noteEveryMs)))
    .update({ noted_at: now });
  return noted === 1;
}

/** How many addresses failed to log in to the account since then (its `client` counters). */
export async function addressesSince(db: Db, account: string, since: Date): Promise<number> {
  const row = await db('login_failures').where({ account, kind: 'client' }).where('last_failure', '>', since).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

export async function forgetBuckets(db: Db, keys: string[]): Promise<void> {
  if (keys.length) await db('login_failures').whereIn('bucket', keys).delete();
}

/** Every counter about the account: its own (which names itself as its account) and each client's. */
export async function forgetAccount(db: Db, account: string): Promise<void> {
  await db('login_failures').where({ account }).delete();
}

const SWEEP_ROWS = 100;

/**
 * Deletes up to SWEEP_ROWS counters that have run out, oldest first: called with each failure, it
 * keeps the table to what is current without a job, and never reads more than a small range of
 * the expires index. (A counter is also reset in place when its window has ended: addFailure.)
 */
export async function sweep(db: Db, now = new Date()): Promise<void> {
  const keys = await db('login_failures').where('expires', '<', now).orderBy('expires').limit(SWEEP_ROWS).pluck('bucket');
  if (keys.length) await db('login_failures').whereIn('bucket', keys).where('expires', '<', now).delete();
}
