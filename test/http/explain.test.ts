import { expect } from 'chai';
import type { Knex } from 'knex';
import { isSqlite } from '../../app/db.js';
import { folderTree } from '../../app/directory/users/folders.js';
import { searchUsers } from '../../app/directory/users/list-query.js';
import { parseFilter } from '../../app/directory/users/list-url.js';
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

/**
 * Table accesses that read a whole table instead of an index and, where the rows must come out of
 * an index in order (a page), accesses that sort instead.
 */
async function problems(db: Knex, statement: Statement, ordered: boolean): Promise<string[]> {
  const sql = statement.sql.replace(/^set statement \S+ for /i, '');
  if (isSqlite(db)) {
    const plan: { detail: string }[] = await db.raw(`explain query plan ${sql}`, statement.bindings as never);
    return plan
      .map((p) => p.detail)
      .filter((d) => /^SCAN (users|sessions|events)\b(?! USING)/.test(d) || (ordered && /TEMP B-TREE FOR ORDER BY/.test(d)));
  }
  const [rows] = await db.raw(`explain ${sql}`, statement.bindings as never);
  return (rows as { table: string; type: string; key: string | null; Extra: string | null }[])
    .filter(
      (r) =>
        ['users', 'sessions', 'events', 'u'].includes(r.table)
        && (r.type === 'ALL' || !r.key || (ordered && /filesort/.test(r.Extra ?? ''))),
    )
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
      Array.from({ length: 4000 }, (_, i) => ({
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
    ['list, first page', true, (db) => searchUsers(db, parseFilter({}))],
    ['list, a folder and below', false, (db) => searchUsers(db, parseFilter({ path: 'users/customers' }))],
    ['list, sorted by name', true, (db) => searchUsers(db, parseFilter({ sort: 'name' }))],
    ['list, sorted by last login, newest first', true, (db) => searchUsers(db, parseFilter({ sort: '-last_login' }))],
    ['list, search by prefix (best match)', true, (db) => searchUsers(db, parseFilter({ q: 'Name 4' }))],
    ['list, search by prefix, sorted by last login', false, (db) => searchUsers(db, parseFilter({ q: 'Name 4', sort: 'last_login' }))],
    ['folder tree', false, (db) => folderTree(db)],
    ['sessions tab', true, (db) => listSessions(db, userId)],
    ['events tab', true, (db) => searchEvents(db, { userPk: userId })],
  ];

  for (const [name, ordered, call] of cases) {
    it(`${name}: uses its index${ordered ? ', in order' : ''}`, async () => {
      const statements = await statementsOf(t.db, () => call(t.db));
      expect(statements.length).to.be.greaterThan(0);
      for (const statement of statements) expect(await problems(t.db, statement, ordered), statement.sql).to.deep.equal([]);
    });
  }
});
