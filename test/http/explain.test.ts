import { expect } from 'chai';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { isKnownBrowser, rememberBrowser } from '../../app/auth/throttle/known-browsers.js';
import { accountKey, bucketKey } from '../../app/auth/throttle/rules.js';
import {
  addressesSince,
  blockBucket,
  forgetAccount,
  forgetBuckets,
  readBuckets,
  shouldNote,
  sweep,
} from '../../app/auth/throttle/store.js';
import { isSqlite } from '../../app/db.js';
import { addMember, ensureGroup } from '../../app/directory/groups/groups.js';
import { moveUsers, setActiveOf } from '../../app/directory/users/bulk/writes.js';
import { folderPaths } from '../../app/directory/users/folders.js';
import { planLimits, searchUsers } from '../../app/directory/users/list-query.js';
import { parseFilter } from '../../app/directory/users/list-url.js';
import { lockDown } from '../../app/directory/users/lockdown.js';
import {
  cancelScheduled,
  listScheduled,
  parseCursor,
  scheduledFor,
  scheduleOffboarding,
} from '../../app/directory/users/offboarding/offboarding.js';
import { runDueActions } from '../../app/directory/users/offboarding/scheduler.js';
import { INDEXED_COLUMNS, writeTerms } from '../../app/directory/users/terms.js';
import { searchEvents } from '../../app/events/events.js';
import { listSessions } from '../../app/identity/sessions.js';
import { type TestApp, testApp } from '../support/app.js';

interface Statement {
  sql: string;
  bindings: unknown[];
}

/** The statements a call runs, as the database received them. */
async function statementsOf(db: Knex, call: () => Promise<unknown>): Promise<Statement[]> {
  const seen: Statement[] = [];
  const listener = (q: { sql: string; bindings?: unknown[] }) => seen.push({ sql: q.sql, bindings: q.bindings ?? [] });
  db.on('query', listener);
  try {
    await call();
  } finally {
    db.off('query', listener);
  }
  return seen;
}

/** The tables whose reads are checked: those that grow with the directory or with its traffic. */
const TABLES = ['users', 'sessions', 'events', 'u', 'user_terms', 'w', 'run', 'login_failures', 'known_browsers', 'scheduled_actions'];

/**
 * Table accesses that read a whole table instead of an index and, where the rows must come out of
 * an index in order (a page), accesses that sort instead.
 */
async function problems(db: Knex, statement: Statement, ordered: boolean): Promise<string[]> {
  // The statement's own settings (MariaDB's SET STATEMENT … FOR) apply to its EXPLAIN too.
  const settings = /^set statement .*? for /i.exec(statement.sql)?.[0] ?? '';
  const sql = statement.sql.slice(settings.length);
  if (isSqlite(db)) {
    const plan: { id: number; parent: number; detail: string }[] = await db.raw(`explain query plan ${sql}`, statement.bindings as never);
    // A sort of a table's rows (beside a read of the table); a sort of a merged page of a few
    // ordered parts is not one.
    const sortsTable = (step: { parent: number }) =>
      plan.some(
        (p) =>
          p.parent === step.parent
          && /^(SCAN|SEARCH) (users|sessions|events|user_terms|u|w|run|login_failures|known_browsers|scheduled_actions)\b/.test(p.detail),
      );
    return plan
      .filter(
        (p) =>
          /^SCAN (users|sessions|events|user_terms|u|w|run|login_failures|known_browsers|scheduled_actions)\b(?! USING)/.test(p.detail)
          || (ordered && /TEMP B-TREE FOR ORDER BY/.test(p.detail) && sortsTable(p)),
      )
      .map((p) => p.detail);
  }
  const [rows] = await db.raw(`${settings}explain ${sql}`, statement.bindings as never);
  return (rows as { table: string; type: string; key: string | null; Extra: string | null }[])
    .filter((r) => TABLES.includes(r.table) && (r.type === 'ALL' || !r.key || (ordered && /filesort/.test(r.Extra ?? ''))))
    .map((r) => `${r.table}: ${r.type} ${r.key ?? 'no index'} ${r.Extra ?? ''}`);
}

describe('the hot queries use their indexes (EXPLAIN)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let userId: number;

  before(async () => {
    t = await testApp();
    const now = Date.now();
    const paths = ['users', 'users/staff', 'users/staff/eng', 'users/customers/eu', 'users/customers/us', 'service'];
    await t.db.batchInsert(
      'users',
      Array.from({ length: 6600 }, (_, i) => ({
        uuid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
        username: `user${String(i).padStart(5, '0')}`,
        name: `Name ${i % 97}`,
        email: `u${i}@example.com`,
        is_active: i % 20 !== 0,
        path: paths[i % paths.length],
        type: 'internal',
        attributes: '{}',
        last_login: i % 3 ? new Date(now - i * 60_000) : null,
        date_joined: new Date(now - i * 3_600_000),
        last_updated: new Date(now),
      })) as never,
      400,
    );
    await writeTerms(t.db, await t.db('users').select(...INDEXED_COLUMNS));
    // A few locked and expired users, as a directory has them (issue 17).
    await t
      .db('users')
      .whereRaw('id % 97 = 0')
      .update({ locked_until: new Date(now + 3_600_000) });
    await t
      .db('users')
      .whereRaw('id % 89 = 0')
      .update({ valid_until: new Date(now - 3_600_000) });
    userId = (await t.db('users').first('id'))!.id;
    await t.db.batchInsert(
      'sessions',
      Array.from({ length: 3000 }, (_, i) => ({
        sid: `s${i}`,
        user_id: userId + (i % 50),
        data: '{}',
        last_used: new Date(now - i * 1000),
        expires: new Date(now + 86_400_000),
        created: new Date(now),
      })) as never,
      400,
    );
    await t.db.batchInsert(
      'events',
      Array.from({ length: 6000 }, (_, i) => ({
        action: 'login',
        user_pk: userId + (i % 50),
        user: '{}',
        app: 'roster.auth',
        context: '{}',
        created: new Date(now - i * 1000),
      })) as never,
      400,
    );
    await t.db.raw(isSqlite(t.db) ? 'analyze' : 'analyze table users, sessions, events');
  });
  after(() => t?.close());

  // ordered: the page must come out of an index in order, with no sort of all matching rows.
  const cases: [string, boolean, (db: Knex) => Promise<unknown>][] = [
    ['list, first page', true, (db) => list(db, {})],
    ['list, a folder and below (a walk per folder, merged)', true, (db) => list(db, { path: 'users/customers' })],
    ['list, sorted by name', true, (db) => list(db, { sort: 'name' })],
    ['list, sorted by last login, newest first', true, (db) => list(db, { sort: '-last_login' })],
    ['list, a folder sorted by last login', true, (db) => list(db, { path: 'users/staff', sort: 'last_login', active: 'all' })],
    // "name" is a word of every user: the list walks its order's index and looks each user's word up.
    ['list, a common word (best match: walks the folded usernames)', true, (db) => list(db, { q: 'name' })],
    ['list, a common word sorted by last login (walks that index)', true, (db) => list(db, { q: 'name', sort: 'last_login' })],
    ['list, a common word in a folder, by last login', true, (db) => list(db, { q: 'name', path: 'users', sort: '-last_login' })],
    // By name, username or status, a common word that begins few words is read from its words' runs.
    ['list, a common word by name (reads its run in order)', true, (db) => list(db, { q: 'name', sort: 'name' })],
    ['list, a common word in a folder by name, reversed', true, (db) => list(db, { q: 'name', path: 'users', sort: '-name' })],
    ['list, a common word by username, deactivated shown', true, (db) => list(db, { q: 'nam', sort: 'username', active: 'all' })],
    [
      'list, a common word by status, deactivated shown (a run per status)',
      true,
      (db) => list(db, { q: 'name', sort: 'is_active', active: 'all' }),
    ],
    ['list, two common words by name', true, (db) => list(db, { q: 'name example', sort: 'name' })],
    // Best match over more users than it sorts from their words: each of its segments read from the run.
    ['list, a common word, best match, read from its run', true, (db) => withLimits({ rankedMax: 0 }, () => list(db, { q: 'name' }))],
    [
      'list, a common word, best match, a folder',
      true,
      (db) => withLimits({ rankedMax: 0 }, () => list(db, { q: 'nam', path: 'users/customers' })),
    ],
    // "example" is a word of every user: in a folder of ~1,000 users it is met at once on the
    // folder's own index, where its run (across every folder) or collecting all of them would not be.
    [
      'list, a word of most users in a small folder (walks the folder)',
      true,
      (db) => list(db, { q: 'example', path: 'users/customers/eu' }),
    ],
    [
      'list, a word of most users in a small folder, by name',
      true,
      (db) => list(db, { q: 'example', path: 'users/customers/eu', sort: '-name' }),
    ],
    // "user00012" is a word of ten users: the list reads its rows and sorts those users.
    ['list, a rare word (reads its rows, sorts them)', false, (db) => list(db, { q: 'user00012' })],
    ['list, a rare word sorted by name', false, (db) => list(db, { q: 'user00012', sort: 'name' })],
    ['list, a rare word in a folder', false, (db) => list(db, { q: 'user00012', path: 'users/customers/eu' })],
    // The status filter (issue 17): Active walks the order's index and checks each candidate's row,
    // with its few locked and expired users counted from their indexes; Deactivated is the flag
    // the indexes hold; Locked and Expired read their users from their own index and sort them.
    ['list, status active', true, (db) => list(db, { status: 'active' })],
    ['list, status active in a folder, by name', true, (db) => list(db, { status: 'active', path: 'users/customers', sort: '-name' })],
    ['list, status active, a common word by name (runs)', true, (db) => list(db, { status: 'active', q: 'name', sort: 'name' })],
    [
      'list, status active, a common word by last login (walk)',
      true,
      (db) => list(db, { status: 'active', q: 'name', sort: '-last_login' }),
    ],
    [
      'list, status active, a common word, best match, read from its run',
      true,
      (db) => withLimits({ rankedMax: 0 }, () => list(db, { status: 'active', q: 'name' })),
    ],
    ['list, status active, a rare word (collected)', false, (db) => list(db, { status: 'active', q: 'user00012' })],
    ['list, status deactivated, by last login', true, (db) => list(db, { status: 'deactivated', sort: '-last_login' })],
    ['list, status deactivated in a folder', true, (db) => list(db, { status: 'deactivated', path: 'users/staff' })],
    [
      'list, status deactivated, a rare word by name (sorted on its search rows)',
      false,
      (db) => list(db, { status: 'deactivated', q: 'user00012', sort: 'name' }),
    ],
    ['list, status locked (reads its index, sorts the few)', false, (db) => list(db, { status: 'locked' })],
    ['list, status locked in a folder, by name', false, (db) => list(db, { status: 'locked', path: 'users/customers', sort: 'name' })],
    ['list, status expired, a common word, best match', false, (db) => list(db, { status: 'expired', q: 'name' })],
    ['list, status expired by last login', false, (db) => list(db, { status: 'expired', sort: '-last_login' })],
    ['folder tree', false, (db) => folderPaths(db)],
    ['sessions tab', true, (db) => listSessions(db, userId)],
    ['events tab', true, (db) => searchEvents(db, { userPk: userId })],
  ];

  async function withLimits<T>(limits: Partial<typeof planLimits>, call: () => Promise<T>): Promise<T> {
    const before = { ...planLimits };
    Object.assign(planLimits, limits);
    try {
      return await call();
    } finally {
      Object.assign(planLimits, before);
    }
  }

  async function list(db: Knex, query: Record<string, string>) {
    const paths = await folderPaths(db);
    return searchUsers(db, parseFilter(query), paths);
  }

  it("walks a small folder's index for a word most of its users have, and collects a word few of them have", async () => {
    const pageStatement = async (q: string) =>
      (await statementsOf(t.db, () => list(t.db, { q, path: 'users/customers/eu', sort: 'name' }))).at(-1)!.sql;
    const dense = await pageStatement('example');
    expect(dense).to.include('users_folder_name');
    expect(dense).not.to.include('user_terms_name');
    const rare = await pageStatement('user00015');
    expect(rare).to.include('user_terms');
    expect(rare).not.to.include('users_folder_name');
  });

  for (const [name, ordered, call] of cases) {
    it(`${name}: uses its index${ordered ? ', in order' : ''}`, async () => {
      const statements = await statementsOf(t.db, () => call(t.db));
      expect(statements.length).to.be.greaterThan(0);
      for (const statement of statements) expect(await problems(t.db, statement, ordered), statement.sql).to.deep.equal([]);
    });
  }

  it('brute-force counters, known browsers and scheduled actions: every statement that reads rows reads them by an index', async () => {
    const now = new Date();
    const later = new Date(now.getTime() + 3_600_000);
    const ids = await t.db('users').orderBy('id').limit(6000).pluck('id');
    // Tables as busy as an attacked directory's: thousands of counters, browsers and actions.
    await t.db.batchInsert(
      'login_failures',
      Array.from({ length: 3000 }, (_, i) => ({
        bucket: bucketKey('client', `user${i % 1000}`, `10.0.${i % 250}.${i % 7}`, i),
        kind: i % 3 ? 'client' : 'address',
        account: i % 3 ? accountKey(`user${i % 1000}`) : null,
        failures: 1 + (i % 9),
        window_ends: i % 2 ? later : new Date(now.getTime() - 60_000),
        last_failure: new Date(now.getTime() - i * 1000),
        expires: new Date(now.getTime() + (i % 2 ? 1 : -1) * i * 1000),
      })) as never,
      400,
    );
    await t.db.batchInsert(
      'known_browsers',
      ids.map((id, i) => ({
        user_id: id,
        browser_hash: `h${i}`,
        created: now,
        last_used: new Date(now.getTime() - i * 86_400_000),
      })) as never,
      400,
    );
    const actor = { id: 0, username: 'explain', email: '' };
    await scheduleOffboarding(t.db, ids, { action: 'deactivate', when: { idleDays: 365 }, reason: '' }, actor, now);
    await t.db.raw(isSqlite(t.db) ? 'analyze' : 'analyze table login_failures, known_browsers, scheduled_actions');

    const key = bucketKey('client', 'user7', '10.0.7.0', 7);
    const calls: [string, boolean, () => Promise<unknown>][] = [
      ['read counters', false, () => readBuckets(t.db, [key, bucketKey('address', '10.0.7.0')], now)],
      ['block a counter', false, () => blockBucket(t.db, key, later)],
      ['note a refusal', false, () => shouldNote(t.db, key, now)],
      ['addresses that failed on an account', false, () => addressesSince(t.db, accountKey('user7'), new Date(now.getTime() - 3_600_000))],
      ['forget counters', false, () => forgetBuckets(t.db, [key])],
      ["forget an account's counters", false, () => forgetAccount(t.db, accountKey('user8'))],
      ['sweep ended counters', false, () => sweep(t.db, now)],
      ['a known browser', false, () => isKnownBrowser(t.db, ids[5], 'h5', now)],
      ['remember a browser, forget stale ones', false, () => rememberBrowser(t.db, ids[6], 'new', now)],
      ["a user's scheduled action", false, () => scheduledFor(t.db, ids[3])],
      ['scheduled actions, first page', true, () => listScheduled(t.db, { descending: false, after: null })],
      [
        'scheduled actions, a later page, latest first',
        true,
        async () => {
          const first = await listScheduled(t.db, { descending: true, after: null });
          return listScheduled(t.db, { descending: true, after: parseCursor(first.next!) });
        },
      ],
      [
        'schedule for users who have actions',
        false,
        () => scheduleOffboarding(t.db, ids.slice(0, 300), { action: 'delete', when: { idleDays: 400 }, reason: '' }, actor, now),
      ],
      [
        'cancel scheduled actions',
        false,
        async () => cancelScheduled(t.db, (await t.db('scheduled_actions').limit(50).pluck('id')) as number[], actor),
      ],
      // Nothing due: the scheduler's tick reads the due end of the index and stops.
      ['the scheduler finds what is due', true, () => runDueActions(t.db, { now, deleteEvents: false, logger: pino({ level: 'silent' }) })],
    ];
    for (const [name, ordered, call] of calls) {
      const statements = (await statementsOf(t.db, call)).filter((s) => /^\s*(select|update|delete)\b/i.test(s.sql));
      expect(statements.length, name).to.be.greaterThan(0);
      for (const statement of statements) expect(await problems(t.db, statement, ordered), `${name}: ${statement.sql}`).to.deep.equal([]);
    }
  });

  // Last: it changes the users the cases above read.
  it('bulk deactivation, move and lockdown: every statement that reads rows reads them by an index', async () => {
    // Users beyond the fifty who hold every session here: deleting a fifth of a small table's rows
    // is a scan for MariaDB, where a selection's sessions are a sliver of millions in a directory.
    const ids = await t
      .db('users')
      .where({ path: 'users/staff' })
      .where('id', '>', userId + 50)
      .orderBy('id')
      .limit(300)
      .pluck('id');
    // Deactivating anyone needs an active administrator to remain.
    const adminId = (await t.db('users').where({ path: 'service', is_active: true }).first('id'))!.id;
    await addMember(t.db, await ensureGroup(t.db, 'Admins', true), adminId);
    const actor = { id: 0, username: 'explain', email: '' };
    const writes = [
      () => setActiveOf(t.db, ids.slice(0, 100), false, actor),
      () => moveUsers(t.db, ids.slice(100, 200), 'users/moved', actor),
      () => lockDown(t.db, ids.slice(200), 'explain', actor),
    ];
    for (const write of writes) {
      // Inserts read nothing (MariaDB's EXPLAIN of one names its table as if scanned).
      const statements = (await statementsOf(t.db, write)).filter((s) => /^\s*(select|update|delete)\b/i.test(s.sql));
      expect(statements.length).to.be.at.least(3);
      for (const statement of statements) expect(await problems(t.db, statement, false), statement.sql).to.deep.equal([]);
    }
  });
});
