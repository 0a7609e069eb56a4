// `npm run bench -- [--users 1000000] [--sessions 2000000] [--events 5000000] [--duration 5] [--warmup 2] [--requests 200] [--seed-only]`
// Builds (or reuses) a big directory on DATABASE_URL (default: SQLite in data/bench.sqlite3), starts
// Roster in a child process (bench/server.ts), and measures each case over HTTP with autocannon from
// this process. Reports go to bench/results/.

import { execFileSync, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { hashPassword } from '../app/auth/passwords.js';
import { describeDatabaseUrl, isSqlite, migrate, openDb } from '../app/db.js';
import { addMember, ensureGroup } from '../app/directory/groups/groups.js';
import { createToken } from '../app/directory/tokens/tokens.js';
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
  },
});
const USERS = Number(args.users);
const SESSIONS = Number(args.sessions);
const EVENTS = Number(args.events);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const SINGLE = Number(args.requests);
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
  if (isSqlite(db)) await db.raw('analyze');
  return { heavyUserId };
}

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

  await measure('bare Express route (ceiling)', `http://127.0.0.1:${ports.barePort}/`, {});
  await measure('bare Express + EJS page, same 50 rows', `http://127.0.0.1:${ports.barePort}/users`, {}, true);
  for (const c of cases) await measure(c.name, `${base}${c.path}`, { cookie }, c.list);

  // Bulk deletes over HTTP with an API token, each one transaction.
  const admin = await db('users').where({ username: 'bench-admin' }).first('id', 'username', 'email');
  const token = await createToken(
    db,
    { identifier: `bench-${Date.now()}`, description: 'bench', ownerId: admin!.id, expires: null },
    admin!,
  );
  if (!token.ok) throw new Error('no token');
  const auth = { Authorization: `Bearer ${token.key}`, 'Content-Type': 'application/x-www-form-urlencoded' };
  const timed = async (name: string, path: string, ids: (string | number)[]) => {
    await reset();
    const t0 = performance.now();
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: auth,
      body: new URLSearchParams(ids.map((id) => ['ids', String(id)])),
    });
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
  const server = await stats();

  const report = {
    date: new Date().toISOString(),
    database: describeDatabaseUrl(databaseUrl),
    ...measuredOn,
    serverPeakRssMb: server.peakRssMb,
    node: process.version,
    results,
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
    '| bulk delete (one transaction) | ms | SQL | slowest SQL ms | slowest SQL |',
    '|---|---|---|---|---|',
    ...results
      .filter((r) => 'ms' in r)
      .map(
        (r) =>
          `| ${r.case} | ${r.ms} | ${r.statements} | ${r.slowestStatementMs} | \`\` ${(r.slowestSql as string).replace(/\|/g, '\\|')}… \`\` |`,
      ),
    '',
    ...(cached ? [`SQLite database file in the OS file cache before the deletes (fincore): ${cached}.`, ''] : []),
    `Export: ${exportRow.rows.toLocaleString('en')} rows (${exportRow.mb} MB) in ${exportRow.seconds} s; server peak RSS ${exportRow.peakRssMbBefore} MB before the export, ${exportRow.peakRssMbAfter} MB after.`,
    '',
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
