// `npm run bench -- [--users 1000000] [--sessions 2000000] [--events 5000000] [--duration 5] [--warmup 2] [--requests 200]
//   [--matrix-requests 40] [--only matrix|status|bulk|scim | --no-matrix] [--seed-only]`
// Builds (or reuses) a big directory on DATABASE_URL (default: SQLite in data/bench.sqlite3), starts
// Roster in a child process (bench/server.ts), and measures each case over HTTP with autocannon from
// this process, then the users list in every combination of folder, search, sort and filter (the
// matrices: issue 16's searches, issue 17's status filter), then the bulk writes and the export.
// `--only` runs one part: `matrix` (with the pages its throughput target compares), `status`,
// `bulk` (the bulk writes and the export), or `scim` (issue 18's look-ups, Bulk and group PATCH).
// Reports go to bench/results/.

import { execFileSync, fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { hashPassword } from '../app/auth/passwords.js';
import { describeDatabaseUrl, isSqlite, migrate, openDb } from '../app/db.js';
import { addMember, ensureGroup } from '../app/directory/groups/groups.js';
import { createToken } from '../app/directory/tokens/tokens.js';
import { SORTS } from '../app/directory/users/list-url.js';
import { insertUser } from '../app/directory/users/users.js';
import { seedGroups, seedUsers } from '../db/seed.js';
import type { ServerMessage, ServerStats } from './server.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '1000000' },
    sessions: { type: 'string', default: '2000000' },
    events: { type: 'string', default: '5000000' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    requests: { type: 'string', default: '200' },
    'seed-only': { type: 'boolean', default: false },
    'matrix-requests': { type: 'string', default: '40' },
    only: { type: 'string' },
    'no-matrix': { type: 'boolean', default: false },
  },
});
const ONLY = args.only;
if (ONLY !== undefined && !['matrix', 'status', 'bulk', 'scim'].includes(ONLY))
  throw new Error('--only takes one of: matrix, status, bulk, scim');
if (ONLY !== undefined && args['no-matrix']) throw new Error('--only and --no-matrix exclude each other');
/** Whether this run measures that part. */
const runs = (part: 'cases' | 'matrix' | 'status' | 'bulk' | 'scim') =>
  ONLY === undefined ? part === 'cases' || part === 'bulk' || part === 'scim' || !args['no-matrix'] : ONLY === part;
const USERS = Number(args.users);
const SESSIONS = Number(args.sessions);
const EVENTS = Number(args.events);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const SINGLE = Number(args.requests);
const MATRIX_REQUESTS = Number(args['matrix-requests']);
if (!Number.isInteger(MATRIX_REQUESTS) || MATRIX_REQUESTS < 1) throw new Error('--matrix-requests must be a whole number above 0');
const PASSWORD = 'bench-password-123';

const databaseUrl = process.env.DATABASE_URL ?? 'sqlite:data/bench.sqlite3';
const db = openDb(databaseUrl);
const batch = isSqlite(db) ? 400 : 2000;
const progress = (label: string, done: number, total: number) =>
  process.stderr.write(`\r${label}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')}   `);

/** Rows of a table, or of one user's sessions or events. */
async function count(table: 'users' | 'sessions' | 'events', userId?: number): Promise<number> {
  const query = db(table).count({ n: '*' });
  if (userId !== undefined) query.where(table === 'events' ? 'user_pk' : 'user_id', userId);
  return Number((await query.first())!.n);
}

/** Rows in batches, in transactions of many batches (fast on both databases). */
async function bulk(table: 'sessions' | 'events', total: number, make: (i: number) => Record<string, unknown>) {
  for (let done = 0; done < total; ) {
    await db.transaction(async (trx) => {
      for (let k = 0; k < 20 && done < total; k++) {
        const size = Math.min(batch, total - done);
        await trx(table).insert(Array.from({ length: size }, (_, j) => make(done + j)) as never);
        done += size;
      }
    });
    progress(table, done, total);
  }
  process.stderr.write('\n');
}

async function prepare(): Promise<{ heavyUserId: number }> {
  await migrate(db);
  // Loading only (this connection, not the server's): SQLite's default 2 MB page cache makes every
  // insert into the unique indexes read pages back from disk; a 1 GB cache and no fsync per commit
  // load a million users in minutes instead of an hour.
  if (isSqlite(db)) for (const pragma of ['cache_size = -1048576', 'synchronous = OFF']) await db.raw(`pragma ${pragma}`);
  const have = await count('users');
  if (have < USERS) {
    const groups = await seedGroups(db, 100);
    await seedUsers(db, USERS - have, groups, batch);
  }
  const user = async (username: string, name: string, password: string | null) =>
    (await db('users').where({ username }).first('id'))?.id
    ?? (await insertUser(db, { username, name, path: 'admins', passwordHash: password && (await hashPassword(password, 12)) }));
  const adminId = await user('bench-admin', 'Bench admin', PASSWORD);
  await addMember(db, await ensureGroup(db, 'Admins', true), adminId);
  // The user whose detail tabs are measured (out of the folders the bench deletes from).
  const heavyUserId = await user('bench-heavy', 'Heavy user', null);
  // Sessions and events of everyone else go to existing users (some were deleted by earlier runs).
  const userIds: number[] = await db('users').pluck('id');
  const someone = (i: number) => userIds[(i * 7919) % userIds.length];
  const now = Date.now();
  const session = (userId: number, i: number) => ({
    sid: `bench-${now}-${userId}-${i}`,
    user_id: userId,
    data: '{"cookie":{}}',
    last_ip: '10.0.0.1',
    last_user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0',
    last_used: new Date(now - i * 1000),
    expires: new Date(now + 14 * 86_400_000),
    created: new Date(now - i * 2000),
  });
  const heavyJson = JSON.stringify({ pk: heavyUserId, username: 'bench-heavy', email: '' });
  const event = (userId: number, i: number) => ({
    action: i % 5 ? 'login' : 'login_failed',
    user_pk: userId,
    user: userId === heavyUserId ? heavyJson : '{}',
    app: 'roster.auth',
    context: '{"method":"password"}',
    client_ip: '10.0.0.2',
    created: new Date(now - i * 5000),
  });
  const heavySessions = await count('sessions', heavyUserId);
  if (heavySessions < 11_000) await bulk('sessions', 11_000 - heavySessions, (i) => session(heavyUserId, i));
  const heavyEvents = await count('events', heavyUserId);
  if (heavyEvents < 10_000) await bulk('events', 10_000 - heavyEvents, (i) => event(heavyUserId, i));
  const haveSessions = await count('sessions');
  if (haveSessions < SESSIONS) await bulk('sessions', SESSIONS - haveSessions, (i) => session(someone(i), i));
  const haveEvents = await count('events');
  if (haveEvents < EVENTS) await bulk('events', EVENTS - haveEvents, (i) => event(someone(i), i));
  // Locked and expired users, as a directory has them (issue 17's status filter): 1 in 1,000
  // locked (for ten years, so the data stays the same between runs), 1 in 200 expired.
  const YEAR = 365 * 86_400_000;
  if (!(await db('users').whereNotNull('locked_until').first('id')))
    await db('users')
      .whereRaw('id % 1000 = 7')
      .update({ locked_until: new Date(now + 10 * YEAR), lock_reason: 'bench: 20 failed logins from 3 addresses' });
  if (!(await db('users').whereNotNull('valid_until').first('id')))
    await db('users')
      .whereRaw('id % 200 = 11')
      .update({ valid_until: new Date(now - YEAR / 12) });
  // SCIM (issue 18): each user's identifier in the provisioning client, as clients look users up by
  // it (`externalId eq`). Written in slices of ids: one statement of a million rows would hold
  // MariaDB's undo log and redo for minutes.
  if (!(await db('users').whereNotNull('external_id').first('id'))) {
    const top = Number((await db('users').max({ m: 'id' }).first())?.m ?? 0);
    const externalId = db.raw(isSqlite(db) ? "'ext-' || id" : "concat('ext-', id)");
    for (let from = 0; from <= top; from += 50_000) {
      await db('users')
        .where('id', '>', from)
        .where('id', '<=', from + 50_000)
        .update({ external_id: externalId });
      progress('externalId', Math.min(from + 50_000, top), top);
    }
  }
  if (isSqlite(db)) await db.raw('analyze');
  return { heavyUserId };
}

/**
 * The matrix (issue 16): the users list in every combination of these folders, searches, sorts and
 * status filters, 3 × 7 × 9 × 2 = 378 URLs. The searches are words of db/seed.ts's lists, one of each
 * kind; the shares are of the seeded people (a first name is 1 in 40, a last name 1 in 33, a domain
 * 1 in 4, service accounts have no e-mail) and were counted on a seeded database.
 */
const MATRIX_FOLDERS = [
  { folder: 'root', path: '' },
  { folder: 'users/staff', path: 'users/staff' }, // big: ~40% of users with its subfolders
  { folder: 'users/staff/finance', path: 'users/staff/finance' }, // small: 0.2%
];
const MATRIX_SEARCHES = [
  { kind: 'no search', q: '', why: 'every user of the folder' },
  {
    kind: '1 letter, common',
    q: 'e',
    why: '~97%: every e-mail address has the word "example" (domains example.com/.org, corp.example, mail.example); "a" finds ~8%',
  },
  { kind: '1 letter, rare', q: 'x', why: '~2.5%: only one word of the lists starts with x, the first name Ximena' },
  { kind: '2–3 letters', q: 'kas', why: '~2.5%: the start of the first name Kasia, a prefix rather than a whole word' },
  { kind: 'name word', q: 'müller', why: '~3%: the last name Müller, typed with its accent (its words are stored folded)' },
  { kind: 'email part', q: 'corp', why: '~24%: the domain corp.example, one of four' },
  { kind: 'miss', q: 'zzqx', why: 'no word of the lists starts with "zz": nothing matches' },
];
/** "default" (no sort: username order, or best match with a search), then each sort key both ways. */
const MATRIX_SORTS = ['', ...Object.keys(SORTS).flatMap((key) => [key, `-${key}`])];

/** A matrix: the users list in every combination of its dimensions, judged by its issue's targets. */
interface Matrix {
  title: string;
  /** The dimensions, for the report's first sentence. */
  dimensions: string;
  folders: typeof MATRIX_FOLDERS;
  searches: typeof MATRIX_SEARCHES;
  sorts: string[];
  filters: { label: string; params: Record<string, string> }[];
  targets: { p50Ms: number; p99Ms?: number; statementMs: number; statements?: number; throughputPct?: number };
}

/** Issue 16: every folder, search and sort, active users only or with the deactivated ones. */
const SEARCH_MATRIX: Matrix = {
  title: 'The users list in every combination',
  dimensions: 'the searches below × the default order and each sort both ways × active users only or with the deactivated ones',
  folders: MATRIX_FOLDERS,
  searches: MATRIX_SEARCHES,
  sorts: MATRIX_SORTS,
  filters: [
    { label: 'active only', params: {} },
    { label: 'show deactivated', params: { active: 'all' } },
  ],
  targets: { p50Ms: 10, p99Ms: 25, statementMs: 20, statements: 4, throughputPct: 60 },
};

/** Issue 17: each status of the filter, in each folder, with and without a search, in the usual orders. */
const STATUS_MATRIX: Matrix = {
  title: 'The status filter in every folder, search and order',
  dimensions: 'no search or the name word `müller` × the default order, name, username and newest login × no filter and each status',
  folders: MATRIX_FOLDERS,
  searches: MATRIX_SEARCHES.filter((s) => s.q === '' || s.q === 'müller'),
  sorts: ['', 'name', 'username', '-last_login'],
  // The list without the filter first, as the baseline each status is compared with.
  filters: [
    { label: 'no status filter', params: {} },
    ...['active', 'deactivated', 'locked', 'expired'].map((status) => ({ label: `status=${status}`, params: { status } })),
  ],
  targets: { p50Ms: 5, statementMs: 20 },
};
/** Per combination: warm-up requests (unmeasured, at most 1 s of them), and the most time its measured requests may take. */
const MATRIX_WARMUP = 5;
const MATRIX_SECONDS = 3;

interface Case {
  name: string;
  path: string;
  list?: boolean;
}

/** How much of a file the OS holds in its page cache, as util-linux's fincore reports it (null without it). */
function fileCache(file: string): string | null {
  try {
    const [resident, size] = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES,SIZE', file], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .map(Number);
    return `${(resident / 1048576).toFixed(0)} of ${(size / 1048576).toFixed(0)} MB (${Math.round((100 * resident) / size)}%)`;
  } catch {
    return null;
  }
}

/** The bench server's counters: zeroed, and read (statements, the slowest one, memory). */
interface Counters {
  reset: () => Promise<void>;
  stats: () => Promise<ServerStats>;
}

/** One connection, kept alive between requests: the matrix's requests follow each other on it. */
const oneConnection = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** A GET over that connection: its status (0 for no answer) and the milliseconds until the last byte. */
function timedGet(url: string, headers: Record<string, string>): Promise<{ status: number; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const done = (status: number) => resolve({ status, ms: performance.now() - t0 });
    const req = http.get(url, { agent: oneConnection, headers, timeout: 30_000 }, (res) => {
      res.on('data', () => {});
      res.on('end', () => done(res.statusCode ?? 0));
      res.on('error', () => done(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
  });
}

/** The nearest-rank percentile of some times: with 40 of them, p50 is the 20th and p99 the slowest. */
function percentile(sorted: number[], p: number): number {
  return Number(sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)].toFixed(1));
}

interface MatrixRow {
  folder: string;
  q: string;
  search: string;
  sort: string;
  filter: string;
  url: string;
  p50: number;
  p99: number;
  requests: number;
  statements: number;
  statementsAvg: number;
  slowestMs: number;
  slowestSql: string;
  statuses: Record<string, number>;
}

/** "root · q=e · -name · show deactivated": which combination a row is. */
const combination = (r: MatrixRow) => `${r.folder} · ${r.q ? `q=${r.q}` : 'no search'} · ${r.sort || 'default'} · ${r.filter}`;
/** The statuses of a combination's answers: "200" when all were, else each with its count ("200×44 503×2"). */
const answers = (r: MatrixRow) => {
  const seen = Object.entries(r.statuses);
  return seen.length === 1 ? seen[0][0] : seen.map(([status, n]) => `${status}×${n}`).join(' ');
};

/**
 * One combination: a few unmeasured requests, one probe whose statements are counted (the steady
 * state: the warm-up took the once-a-minute refresh of the session's last-used time), then up to
 * MATRIX_REQUESTS sequential requests (at most MATRIX_SECONDS of them) for p50/p99 and the slowest
 * statement. Every answer's status is kept.
 */
async function measureCombination(server: Counters, url: string, headers: Record<string, string>) {
  const statuses: Record<string, number> = {};
  const get = async () => {
    const { status, ms } = await timedGet(url, headers);
    statuses[status] = (statuses[status] ?? 0) + 1;
    return ms;
  };
  const warm = performance.now() + 1000;
  for (let i = 0; i < MATRIX_WARMUP && (i === 0 || performance.now() < warm); i++) await get();
  await server.reset();
  await get();
  const probe = await server.stats();
  await server.reset();
  const times: number[] = [];
  const until = performance.now() + MATRIX_SECONDS * 1000;
  while (times.length < MATRIX_REQUESTS && (times.length === 0 || performance.now() < until)) times.push(await get());
  const run = await server.stats();
  times.sort((a, b) => a - b);
  const slowest = run.slowestMs >= probe.slowestMs ? run : probe;
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    requests: times.length,
    statements: probe.statements,
    statementsAvg: Number((run.statements / times.length).toFixed(2)),
    slowestMs: slowest.slowestMs,
    slowestSql: slowest.slowestSql,
    statuses,
  };
}

/** Every combination of the matrix, in order, with a console line for each. */
async function runMatrix(server: Counters, base: string, headers: Record<string, string>, matrix: Matrix): Promise<MatrixRow[]> {
  const rows: MatrixRow[] = [];
  const total = matrix.folders.length * matrix.searches.length * matrix.sorts.length * matrix.filters.length;
  const t0 = performance.now();
  console.log(`\n${matrix.title}: ${total} combinations, ${MATRIX_REQUESTS} sequential requests each (at most ${MATRIX_SECONDS} s)`);
  for (const { folder, path } of matrix.folders)
    for (const { kind, q } of matrix.searches)
      for (const sort of matrix.sorts)
        for (const { label, params: filter } of matrix.filters) {
          const params = new URLSearchParams(Object.entries({ path, q, sort, ...filter }).filter(([, value]) => value));
          const url = `/directory/users${params.size ? `?${params}` : ''}`;
          const row: MatrixRow = {
            folder,
            q,
            search: kind,
            sort,
            filter: label,
            url,
            ...(await measureCombination(server, base + url, headers)),
          };
          rows.push(row);
          console.log(
            `${String(rows.length).padStart(3)}/${total} ${combination(row).padEnd(62)} p50 ${row.p50} ms  p99 ${row.p99} ms  ${row.statements} SQL (slowest ${row.slowestMs} ms)  ${answers(row)}`,
          );
        }
  console.log(`Matrix done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return rows;
}

interface TargetCheck {
  target: string;
  found: string;
  pass: boolean;
}

/** The worst combination for each figure, and each target of the matrix passed or failed. */
function judgeMatrix(matrix: Matrix, rows: MatrixRow[], throughput: { listRps: number; bareRps: number }) {
  const TARGETS = matrix.targets;
  const worstBy = (key: 'p50' | 'p99' | 'statements' | 'slowestMs') => rows.reduce((worst, r) => (r[key] > worst[key] ? r : worst));
  const p50 = worstBy('p50');
  const p99 = worstBy('p99');
  const statements = worstBy('statements');
  const slowest = worstBy('slowestMs');
  const unavailable = rows.filter((r) => r.statuses['503']);
  const not200 = rows.filter((r) => Object.keys(r.statuses).some((status) => status !== '200'));
  const some = (list: MatrixRow[]) =>
    `${list.slice(0, 3).map(combination).join('; ')}${list.length > 3 ? `; and ${list.length - 3} more` : ''}`;
  const worst = {
    p50: { ms: p50.p50, combination: combination(p50) },
    p99: { ms: p99.p99, combination: combination(p99) },
    statements: { count: statements.statements, combination: combination(statements) },
    slowestStatement: { ms: slowest.slowestMs, sql: slowest.slowestSql, combination: combination(slowest) },
    unavailable: { responses: unavailable.reduce((n, r) => n + r.statuses['503'], 0), combinations: unavailable.map(combination) },
    not200: { combinations: not200.map(combination) },
  };
  const pct = Math.round((100 * throughput.listRps) / throughput.bareRps);
  const targets: (TargetCheck | false)[] = [
    {
      target: `every combination p50 <= ${TARGETS.p50Ms} ms`,
      found: `worst ${p50.p50} ms: ${combination(p50)}`,
      pass: p50.p50 <= TARGETS.p50Ms,
    },
    TARGETS.p99Ms !== undefined && {
      target: `every combination p99 <= ${TARGETS.p99Ms} ms`,
      found: `worst ${p99.p99} ms: ${combination(p99)}`,
      pass: p99.p99 <= TARGETS.p99Ms,
    },
    {
      target: `no statement over ${TARGETS.statementMs} ms`,
      found: `slowest ${slowest.slowestMs} ms: ${combination(slowest)}`,
      pass: slowest.slowestMs <= TARGETS.statementMs,
    },
    {
      target: 'no 503',
      found: unavailable.length ? `${worst.unavailable.responses} in ${unavailable.length} combinations: ${some(unavailable)}` : 'none',
      pass: !unavailable.length,
    },
    TARGETS.statements !== undefined && {
      target: `<= ${TARGETS.statements} statements per request`,
      found: `most ${statements.statements}: ${combination(statements)}`,
      pass: statements.statements <= TARGETS.statements,
    },
    TARGETS.throughputPct !== undefined && {
      target: `default list page >= ${TARGETS.throughputPct}% of the bare Express + EJS page (req/s at 10 connections)`,
      found: `${throughput.listRps} / ${throughput.bareRps} req/s = ${pct}%`,
      pass: pct >= TARGETS.throughputPct,
    },
    {
      target: 'every answer 200',
      found: not200.length ? `not in ${not200.length} combinations: ${some(not200)}` : 'yes',
      pass: !not200.length,
    },
  ];
  return { worst, targets: targets.filter((t): t is TargetCheck => t !== false) };
}

/** Text for a Markdown table's cell. */
const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The matrix's part of the report: its searches, the targets, the worst of each figure, every combination. */
function matrixMarkdown(matrix: Matrix, { rows, worst, targets }: { rows: MatrixRow[] } & ReturnType<typeof judgeMatrix>): string[] {
  const TARGETS = matrix.targets;
  const misses = (r: MatrixRow) =>
    [
      r.p50 > TARGETS.p50Ms && 'p50',
      TARGETS.p99Ms !== undefined && r.p99 > TARGETS.p99Ms && 'p99',
      r.slowestMs > TARGETS.statementMs && 'statement time',
      TARGETS.statements !== undefined && r.statements > TARGETS.statements && 'statements',
      r.statuses['503'] && '503',
    ]
      .filter(Boolean)
      .join(', ');
  return [
    `## ${matrix.title} (${rows.length})`,
    '',
    `Folders ${matrix.folders.map((f) => f.folder).join(', ')} (with their subfolders) × ${matrix.dimensions}. Each combination: ${MATRIX_WARMUP} unmeasured requests (fewer if they take over 1 s), one probe whose SQL statements are counted ("SQL"), then ${MATRIX_REQUESTS} sequential requests over one connection (fewer if they take over ${MATRIX_SECONDS} s: "n") for p50 and p99 (nearest rank). "Slowest SQL": the slowest statement of the probe and those requests. "Answers": the status of every request, with a count where they differ.`,
    '',
    '| search | kind | why |',
    '|---|---|---|',
    ...matrix.searches.map((s) => `| ${s.q ? `\`${s.q}\`` : '—'} | ${s.kind} | ${s.why} |`),
    '',
    '| target | found | |',
    '|---|---|---|',
    ...targets.map((t) => `| ${t.target} | ${cell(t.found)} | ${t.pass ? 'PASS' : 'FAIL'} |`),
    '',
    `Slowest statement (${worst.slowestStatement.ms} ms, ${worst.slowestStatement.combination}): \`\` ${cell(worst.slowestStatement.sql)}… \`\``,
    '',
    '| folder | search | sort | status filter | p50 ms | p99 ms | n | SQL | slowest SQL ms | answers | misses |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.folder} | ${r.q ? `\`${r.q}\`` : '—'} | ${r.sort || 'default'} | ${r.filter} | ${r.p50} | ${r.p99} | ${r.requests} | ${r.statements} | ${r.slowestMs} | ${answers(r)} | ${misses(r)} |`,
    ),
    '',
  ];
}

async function main() {
  const started = Date.now();
  console.log(
    `Preparing ${describeDatabaseUrl(databaseUrl)}: ${USERS.toLocaleString('en')} users, ${SESSIONS.toLocaleString('en')} sessions, ${EVENTS.toLocaleString('en')} events`,
  );
  const { heavyUserId } = await prepare();
  console.log(`Data ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (args['seed-only']) return db.destroy();

  // Roster runs in a child process (bench/server.ts): its RSS is the server's alone, and the load
  // generator in this process does not take its CPU time.
  // Built as `npm start` runs it: compiled JavaScript, no TypeScript loader in the process.
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  // With the V8 flags of `npm start` (package.json is their one source).
  const startScript: string = JSON.parse(fs.readFileSync('package.json', 'utf8')).scripts.start;
  const nodeFlags = startScript.split(/\s+/).filter((arg) => arg.startsWith('--'));
  const child = fork('dist/bench/server.js', { execArgv: nodeFlags, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: 'inherit' });
  let exited: (code: number | null) => void = () => {};
  child.on('exit', (code) => exited(code));
  const nextMessage = () =>
    new Promise<ServerMessage>((resolve, reject) => {
      child.once('message', (m) => resolve(m as ServerMessage));
      exited = (code) => reject(new Error(`the bench server exited (${code})`));
    });
  const ports = await nextMessage();
  if (!('port' in ports)) throw new Error('unexpected message from the bench server');
  const stats = async (): Promise<ServerStats> => {
    const reply = nextMessage();
    child.send('stats');
    const m = await reply;
    if (!('stats' in m)) throw new Error('unexpected message from the bench server');
    return m.stats;
  };
  const reset = async () => {
    const reply = nextMessage();
    child.send('reset');
    if (!('reset' in (await reply))) throw new Error('unexpected message from the bench server');
  };
  const base = `http://127.0.0.1:${ports.port}`;

  // Sign in through the real login form.
  const loginPage = await fetch(`${base}/login`);
  const cookie0 = loginPage.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await loginPage.text())![1];
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookie0, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, username: 'bench-admin', password: PASSWORD }),
  });
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');

  const first = await fetch(`${base}/directory/users?sort=name`, { headers: { cookie } }).then((r) => r.text());
  const deepToken = /<a rel="next" href="[^"]*page=([^"&]+)/.exec(first)?.[1];
  const cases: Case[] = [
    // First: the default list page, which the matrix's throughput target compares with the bare page.
    { name: 'list: page 1', path: '/directory/users', list: true },
    { name: 'list: big folder users/staff', path: '/directory/users?path=users%2Fstaff', list: true },
    { name: 'list: small folder users/customers/eu/de', path: '/directory/users?path=users%2Fcustomers%2Feu%2Fde', list: true },
    { name: 'list: search by username (ana.)', path: '/directory/users?q=ana.', list: true },
    { name: 'list: search by name (Mara)', path: '/directory/users?q=Mara', list: true },
    { name: 'list: search by email (zoe.)', path: '/directory/users?q=zoe.', list: true },
    { name: 'list: sort name', path: '/directory/users?sort=name', list: true },
    { name: 'list: sort -name', path: '/directory/users?sort=-name', list: true },
    { name: 'list: sort last_login', path: '/directory/users?sort=last_login', list: true },
    { name: 'list: sort -last_login', path: '/directory/users?sort=-last_login', list: true },
    { name: 'list: sort is_active', path: '/directory/users?sort=is_active', list: true },
    { name: 'list: keyset page (sort name)', path: `/directory/users?sort=name&page=${deepToken}`, list: true },
    { name: 'list: show deactivated', path: '/directory/users?active=all', list: true },
    // The status filter (issue 17): Active checks each candidate's row; Locked and Expired read their own index.
    { name: 'list: status=active', path: '/directory/users?status=active', list: true },
    { name: 'list: status=active sort -last_login', path: '/directory/users?status=active&sort=-last_login', list: true },
    { name: 'list: status=active search (Mara)', path: '/directory/users?status=active&q=Mara', list: true },
    { name: 'list: status=deactivated', path: '/directory/users?status=deactivated', list: true },
    { name: 'list: status=locked', path: '/directory/users?status=locked', list: true },
    { name: 'list: status=expired sort name', path: '/directory/users?status=expired&sort=name', list: true },
    { name: 'detail: overview (heavy user)', path: `/directory/users/${heavyUserId}` },
    { name: 'detail: sessions tab (1,000+)', path: `/directory/users/${heavyUserId}/sessions` },
    { name: 'detail: events tab (10,000)', path: `/directory/users/${heavyUserId}/events` },
  ];

  // What the cases ran on (a reused database may hold more than asked for; the deletes at the end remove some).
  const measuredOn = { users: await count('users'), sessions: await count('sessions'), events: await count('events') };
  const results: Record<string, unknown>[] = [];
  const measure = async (name: string, url: string, headers: Record<string, string>, list = false) => {
    // Warm up (V8 compiles the hot paths of each page as it is used), then let those requests finish.
    await autocannon({ url, connections: 10, duration: WARMUP, headers });
    await new Promise((r) => setTimeout(r, 300));
    // Two probes: the first may also refresh the session's last-used time (once a minute per
    // session); the second shows the statements of a request in the steady state.
    await fetch(url, { headers }).then((r) => r.arrayBuffer());
    await reset();
    const probe = await fetch(url, { headers });
    const body = Buffer.from(await probe.arrayBuffer());
    const bytes = body.byteLength;
    // The list's rows alone (its <tbody>): the "50 rows within 40 KB" target, apart from the layout.
    const tbody = list ? (/<tbody[^>]*>[\s\S]*?<\/tbody>/.exec(body.toString())?.[0] ?? '') : '';
    const rows = list ? { rows: tbody.match(/<tr[ >]/g)?.length ?? 0, rowsBytes: Buffer.byteLength(tbody) } : {};
    const { statements: perRequest } = await stats();
    await reset();
    const single = await autocannon({ url, connections: 1, amount: SINGLE, headers });
    const sequential = await stats(); // statements and the slowest one over the single-connection run
    const ten = await autocannon({ url, connections: 10, duration: DURATION, headers });
    const row = {
      case: name,
      status: probe.status,
      bytes,
      ...rows,
      statements: perRequest,
      statementsAvg: Number((sequential.statements / SINGLE).toFixed(2)),
      slowestStatementMs: sequential.slowestMs,
      p50: single.latency.p50,
      p99: single.latency.p99,
      rps10: Math.round(ten.requests.average),
      p50at10: ten.latency.p50,
      p99at10: ten.latency.p99,
      errors: single.errors + ten.errors + single.non2xx + ten.non2xx,
    };
    results.push(row);
    const size = `${(bytes / 1024).toFixed(1)} KB${list ? ` (${rows.rows} rows: ${((rows.rowsBytes ?? 0) / 1024).toFixed(1)} KB)` : ''}`;
    console.log(
      `${name.padEnd(42)} p50 ${row.p50} ms  p99 ${row.p99} ms  ${row.rps10} req/s@10  ${size}  ${perRequest} SQL (avg ${row.statementsAvg}, slowest ${row.slowestStatementMs} ms)`,
    );
  };

  const bareUrl = `http://127.0.0.1:${ports.barePort}`;
  const BARE_PAGE_CASE = 'bare Express + EJS page, same 50 rows';
  // The throughput target compares the bare page and the list's default page, in the same run.
  if (runs('cases')) await measure('bare Express route (ceiling)', `${bareUrl}/`, {});
  if (runs('cases') || runs('matrix')) await measure(BARE_PAGE_CASE, `${bareUrl}/users`, {}, true);
  for (const c of runs('cases') ? cases : runs('matrix') ? cases.slice(0, 1) : [])
    await measure(c.name, `${base}${c.path}`, { cookie }, c.list);
  const rps = (name: string) => results.find((r) => r.case === name)?.rps10 as number;
  const throughput = { listRps: rps(cases[0].name), bareRps: rps(BARE_PAGE_CASE) };

  const matrices = [];
  for (const [part, spec] of [
    ['matrix', SEARCH_MATRIX],
    ['status', STATUS_MATRIX],
  ] as const) {
    if (!runs(part)) continue;
    const rows = await runMatrix({ reset, stats }, base, { cookie }, spec);
    const judged = { spec, rows, ...judgeMatrix(spec, rows, throughput) };
    console.log(`\n${spec.title}, worst of each:`);
    for (const t of judged.targets) console.log(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.found}`);
    console.log(`  slowest statement (${judged.worst.slowestStatement.ms} ms): ${judged.worst.slowestStatement.sql}`);
    matrices.push(judged);
  }

  /**
   * SCIM (issue 18), with a provisioning token: the look-ups clients make before every change
   * (userName, externalId), then a Bulk of 1,000 user creates and a group PATCH adding 1,000 members,
   * each timed whole, with its statements.
   */
  const scimCases = async () => {
    const admin = await db('users').where({ username: 'bench-admin' }).first('id', 'username', 'email');
    const made = await createToken(
      db,
      { identifier: `bench-scim-${Date.now()}`, description: 'bench', ownerId: admin!.id, expires: null, purpose: 'scim' },
      admin!,
    );
    if (!made.ok) throw new Error('no token');
    const auth = { Authorization: `Bearer ${made.key}` };
    const middle = (await db('users')
      .where('id', '>=', Math.floor(USERS / 2))
      .orderBy('id')
      .first('id', 'username', 'external_id'))!;
    const filter = (text: string) => `${base}/scim/v2/Users?filter=${encodeURIComponent(text)}`;
    await measure('SCIM: Users?filter=userName eq', filter(`userName eq "${middle.username}"`), auth);
    await measure('SCIM: Users?filter=externalId eq', filter(`externalId eq "${middle.external_id}"`), auth);
    await measure('SCIM: Users/{id}', `${base}/scim/v2/Users/${middle.id}`, auth);
    const timedJson = async (name: string, method: string, path: string, body: unknown, count: number) => {
      await reset();
      const t0 = performance.now();
      const res = await fetch(`${base}/scim/v2${path}`, {
        method,
        headers: { ...auth, 'Content-Type': 'application/scim+json' },
        body: JSON.stringify(body),
      });
      const answer = await res.json();
      const ms = performance.now() - t0;
      const { statements, slowestMs, slowestSql } = await stats();
      results.push({ case: name, status: res.status, ms: Math.round(ms), count, statements, slowestStatementMs: slowestMs, slowestSql });
      console.log(
        `${name.padEnd(42)} ${Math.round(ms)} ms (status ${res.status}; ${statements} SQL, slowest ${slowestMs} ms: ${slowestSql}…)`,
      );
      return answer;
    };
    const run = Date.now().toString(36);
    const bulk = await timedJson(
      'SCIM: Bulk of 1,000 user creates',
      'POST',
      '/Bulk',
      {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: Array.from({ length: 1000 }, (_, i) => ({
          method: 'POST',
          path: '/Users',
          bulkId: `u${i}`,
          data: {
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
            userName: `scim-${run}-${i}@bench.example`,
            externalId: `scim-${run}-${i}`,
            name: { givenName: 'Bench', familyName: `User ${i}` },
            emails: [{ value: `scim-${run}-${i}@bench.example`, type: 'work', primary: true }],
          },
        })),
      },
      1000,
    );
    const failed = (bulk.Operations as { status: string }[]).filter((o) => o.status !== '201').length;
    if (failed) console.log(`  ${failed} of the Bulk's operations failed`);
    const group = await fetch(`${base}/scim/v2/Groups`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `bench-scim-${run}` }),
    }).then((r) => r.json());
    const members = await db('users').where('path', 'users/staff/engineering').orderBy('id').limit(1000).pluck('id');
    await timedJson(
      `SCIM: group PATCH adding ${members.length} members`,
      'PATCH',
      `/Groups/${group.id}?excludedAttributes=members`,
      {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'add', path: 'members', value: members.map((id) => ({ value: String(id) })) }],
      },
      members.length,
    );
  };
  if (runs('scim')) await scimCases();

  /** The bulk deletes, deactivation and lockdown, and the export, last: they change the data. */
  const deletesAndExport = async () => {
    // Bulk writes over HTTP with an API token, each one transaction.
    const admin = await db('users').where({ username: 'bench-admin' }).first('id', 'username', 'email');
    const token = await createToken(
      db,
      { identifier: `bench-${Date.now()}`, description: 'bench', ownerId: admin!.id, expires: null },
      admin!,
    );
    if (!token.ok) throw new Error('no token');
    const auth = { Authorization: `Bearer ${token.key}`, 'Content-Type': 'application/x-www-form-urlencoded' };
    // Extra fields go with the ids; `json` asks for the per-row results as a program would.
    const timed = async (name: string, path: string, ids: (string | number)[], fields: Record<string, string> = {}, json = false) => {
      await reset();
      const t0 = performance.now();
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: json ? { ...auth, Accept: 'application/json' } : auth,
        body: new URLSearchParams([...ids.map((id) => ['ids', String(id)]), ...Object.entries(fields)]),
      });
      if (json) await res.json();
      const ms = performance.now() - t0;
      const { statements, slowestMs, slowestSql } = await stats();
      results.push({
        case: name,
        status: res.status,
        ms: Math.round(ms),
        count: ids.length,
        statements,
        slowestStatementMs: slowestMs,
        slowestSql,
      });
      console.log(
        `${name.padEnd(42)} ${Math.round(ms)} ms (status ${res.status}; ${statements} SQL, slowest ${slowestMs} ms: ${slowestSql}…)`,
      );
    };
    // SQLite has no buffer pool: what a delete reads comes from the OS file cache, or from disk.
    const cached = isSqlite(db) ? fileCache(databaseUrl.slice('sqlite:'.length)) : null;
    if (cached) console.log(`SQLite file in the OS file cache before the deletes: ${cached}`);
    const sessionIds = await db('sessions').where({ user_id: heavyUserId }).limit(10_000).pluck('id');
    await timed(`bulk delete ${sessionIds.length} sessions`, `/directory/users/${heavyUserId}/sessions/delete`, sessionIds);
    const userIds = await db('users').where('path', 'users/partners').limit(1000).pluck('id');
    await timed(`bulk delete ${userIds.length} users`, '/directory/users/delete', userIds);
    // Active users each time (earlier runs deactivated some), with their sessions.
    const activeIn = (path: string) => db('users').where({ path, is_active: true }).limit(1000).pluck('id');
    const deactivateIds = await activeIn('users/customers/apac');
    await timed(`bulk deactivate ${deactivateIds.length} users`, '/directory/users/deactivate', deactivateIds, {}, true);
    const lockdownIds = await activeIn('users/staff/support');
    await timed(`bulk lockdown ${lockdownIds.length} users`, '/directory/users/lockdown', lockdownIds, { reason: 'bench' }, true);
    const offboardIds = await activeIn('users/staff/sales');
    const offboarding = { action: 'deactivate', when: 'idle', idle_days: '365', reason: 'bench' };
    await timed(
      `bulk schedule offboarding ${offboardIds.length} users`,
      '/directory/users/schedule-offboarding',
      offboardIds,
      offboarding,
      true,
    );

    // The export of every user, streamed: its time, its size, and the server's RSS while it ran.
    const beforeExport = await stats();
    const t0 = performance.now();
    const exported = await fetch(`${base}/directory/users/export.csv?active=all`, { headers: { cookie } });
    let exportBytes = 0;
    let exportLines = 0;
    for await (const chunk of exported.body as unknown as AsyncIterable<Uint8Array>) {
      exportBytes += chunk.byteLength;
      for (const byte of chunk) if (byte === 10) exportLines++;
    }
    const afterExport = await stats();
    const exportRow = {
      case: 'export.csv (all users)',
      status: exported.status,
      rows: exportLines - 1,
      mb: Number((exportBytes / 1048576).toFixed(1)),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      peakRssMbBefore: beforeExport.peakRssMb,
      peakRssMbAfter: afterExport.peakRssMb,
    };
    results.push(exportRow);
    console.log(
      `${exportRow.case.padEnd(42)} ${exportRow.rows.toLocaleString('en')} rows, ${exportRow.mb} MB in ${exportRow.seconds} s; server peak RSS ${exportRow.peakRssMbBefore} MB before, ${exportRow.peakRssMbAfter} MB after`,
    );
    return { cached, exportRow };
  };
  const tail = runs('bulk') ? await deletesAndExport() : null;
  const server = await stats();

  const report = {
    date: new Date().toISOString(),
    database: describeDatabaseUrl(databaseUrl),
    ...measuredOn,
    serverPeakRssMb: server.peakRssMb,
    node: process.version,
    results,
    matrices: matrices.map(({ spec, ...judged }) => ({ ...spec, requests: MATRIX_REQUESTS, warmup: MATRIX_WARMUP, ...judged })),
  };
  fs.mkdirSync('bench/results', { recursive: true });
  const stem = `bench/results/${isSqlite(db) ? 'sqlite' : 'mysql'}-${report.date.replace(/[:.]/g, '-')}`;
  fs.writeFileSync(`${stem}.json`, JSON.stringify(report, null, 2));
  const md = [
    `# Roster bench — ${report.database}, ${report.users.toLocaleString('en')} users (${report.date})`,
    '',
    `${report.sessions.toLocaleString('en')} sessions, ${report.events.toLocaleString('en')} events. Node ${report.node}, ${os.cpus().length} CPUs. Peak RSS of the server process (VmHWM, load generator in another process): ${report.serverPeakRssMb} MB.`,
    '',
    `Each case after a ${WARMUP} s warm-up at 10 connections. Single connection: ${SINGLE} sequential requests; 10 connections: ${DURATION} s. SQL: statements of one request (avg over the sequential run, which includes the once-a-minute session refresh); slowest: the slowest statement in that run.`,
    '',
    '| case | p50 ms | p99 ms | req/s @10 | p50 @10 | p99 @10 | KB | rows: n, KB | SQL | SQL avg | slowest SQL ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...results
      .filter((r) => 'p50' in r)
      .map(
        (r) =>
          `| ${r.case} | ${r.p50} | ${r.p99} | ${r.rps10} | ${r.p50at10} | ${r.p99at10} | ${((r.bytes as number) / 1024).toFixed(1)} | ${'rows' in r ? `${r.rows}, ${((r.rowsBytes as number) / 1024).toFixed(1)}` : ''} | ${r.statements} | ${r.statementsAvg} | ${r.slowestStatementMs} |`,
      ),
    '',
    ...(results.some((r) => 'ms' in r)
      ? [
          '| bulk write (one request) | ms | SQL | slowest SQL ms | slowest SQL |',
          '|---|---|---|---|---|',
          ...results
            .filter((r) => 'ms' in r)
            .map((r) => `| ${r.case} | ${r.ms} | ${r.statements} | ${r.slowestStatementMs} | \`\` ${cell(r.slowestSql as string)}… \`\` |`),
          '',
        ]
      : []),
    ...(tail
      ? [
          ...(tail.cached ? [`SQLite database file in the OS file cache before the deletes (fincore): ${tail.cached}.`, ''] : []),
          `Export: ${tail.exportRow.rows.toLocaleString('en')} rows (${tail.exportRow.mb} MB) in ${tail.exportRow.seconds} s; server peak RSS ${tail.exportRow.peakRssMbBefore} MB before the export, ${tail.exportRow.peakRssMbAfter} MB after.`,
          '',
        ]
      : []),
    ...matrices.flatMap(({ spec, ...judged }) => matrixMarkdown(spec, judged)),
  ].join('\n');
  fs.writeFileSync(`${stem}.md`, md);
  console.log(`\nReport: ${stem}.md (server peak RSS ${report.serverPeakRssMb} MB)`);
  child.send('stop');
  await db.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
