// The Roster server the bench measures, in a process of its own so that its memory and CPU are not
// mixed with the load generator's. It counts SQL statements and times the slowest one; the bench
// (bench/run.ts, the parent) asks for those figures and for the peak RSS over IPC. Beside Roster it
// serves the ceilings to compare against: a bare Express route, and a bare Express + EJS page of the
// list's first 50 rows.
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import ejs from 'ejs';
import express from 'express';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { createApp } from '../app/app.js';
import { loadConfig } from '../app/config.js';
import { openDb } from '../app/db.js';
import { searchUsers } from '../app/directory/users/list-query.js';
import { parseFilter } from '../app/directory/users/list-url.js';
import { ejsOptions } from '../app/http/templates.js';
import { formatDateTime, TYPE_LABELS } from '../app/http/view-helpers.js';
import { checkpointInBackground } from '../app/sqlite-checkpoints.js';

export interface ServerStats {
  statements: number;
  slowestMs: number;
  slowestSql: string;
  rssMb: number;
  peakRssMb: number;
}
export type ServerMessage = { port: number; barePort: number } | { stats: ServerStats } | { reset: true };

const secret = 'b'.repeat(40);

/** The bare page: a table of the list's columns (name, status, e-mail, folder, last login, type, links). */
const BARE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Users</title></head><body>
<table><thead><tr><th>Select</th><th>Name</th><th>Active</th><th>Last login</th><th>Type</th><th>Actions</th></tr></thead>
<tbody>
<% for (const user of users) { -%>
<tr id="user-row-<%= user.id %>"<% if (!user.isActive) { %> class="off"<% } %>>
<td><input type="checkbox" name="ids" value="<%= user.id %>" aria-label="Select <%= user.username %>">
<td><a href="/directory/users/<%= user.id %>"><%= user.username %></a><span><%= user.name %></span>
<details><summary>Quick overview</summary><dl><dt>Status<dd><%= user.isActive ? 'Active' : 'Deactivated' %><dt>Email<dd><%= user.email %><dt>Path<dd><%= user.path %><dt>Last login<dd><%= formatDateTime(user.lastLogin) %></dl></details>
<td><%= user.isActive ? 'Yes' : 'No' %>
<td><%= formatDateTime(user.lastLogin) %>
<td><%= TYPE_LABELS[user.type] ?? user.type %>
<td><a href="/directory/users/<%= user.id %>/edit" aria-label="Edit <%= user.username %>">✎</a>
</tr>
<% } -%>
</tbody></table></body></html>
`;
const config = loadConfig({ ...process.env, NODE_ENV: 'production', SESSION_SECRET: secret, LOG_LEVEL: 'silent' });
const db = openDb(config.databaseUrl);

const started = new Map<string, number>();
let statements = 0;
let slowestMs = 0;
let slowestSql = '';
(db as Knex).on('query', (q: { __knexQueryUid: string }) => {
  statements++;
  started.set(q.__knexQueryUid, performance.now());
});
(db as Knex).on('query-response', (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
  const t0 = started.get(q.__knexQueryUid);
  const ms = t0 === undefined ? 0 : performance.now() - t0;
  if (ms > slowestMs) {
    slowestMs = ms;
    slowestSql = q.sql.replace(/\s+/g, ' ').slice(0, 200);
  }
  started.delete(q.__knexQueryUid);
});

/** The kernel's peak resident set size of this process (VmHWM), in MB. */
function peakRssMb(): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kb ? Math.round(Number(kb) / 1024) : Math.round(process.memoryUsage().rss / 1048576);
}

process.on('message', (message: string) => {
  if (message === 'reset') {
    statements = 0;
    slowestMs = 0;
    slowestSql = '';
    // Answered, so that the bench sends its next request only once the counters are zero.
    process.send!({ reset: true } satisfies ServerMessage);
    return;
  }
  if (message === 'stats') {
    const stats: ServerStats = {
      statements,
      slowestMs: Number(slowestMs.toFixed(2)),
      slowestSql,
      rssMb: Math.round(process.memoryUsage().rss / 1048576),
      peakRssMb: peakRssMb(),
    };
    process.send!({ stats } satisfies ServerMessage);
  }
  if (message === 'stop') void db.destroy().finally(() => process.exit(0));
});

await checkpointInBackground(db, config.databaseUrl); // as app/server.ts does
const app = createApp({ config, db, logger: pino({ level: 'silent' }), sessionSecret: secret });
const server = createServer(app);
// The ceilings to compare against, in this process: a bare Express route returning a fixed string,
// and a bare Express + EJS page (no middleware, no session, no database) rendering the rows of the
// list's first page with its columns, read once here. Like Roster, no ETag.
const rows = (await searchUsers(db, parseFilter({}), null)).users;
const barePage = ejs.compile(BARE_PAGE, {
  ...ejsOptions(true),
  _with: false,
  destructuredLocals: ['users', 'formatDateTime', 'TYPE_LABELS'],
});
const bare = createServer(
  express()
    .set('etag', false)
    .get('/', (_req, res) => {
      res.send('ok');
    })
    .get('/users', (_req, res) => {
      res.type('html').send(barePage({ users: rows, formatDateTime, TYPE_LABELS }));
    }),
);
const listening = (s: typeof server) =>
  new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
Promise.all([listening(server), listening(bare)]).then(([port, barePort]) => {
  // Run by hand (no IPC channel, e.g. under --cpu-prof), it says where it listens and stops on SIGTERM.
  if (process.send) process.send({ port, barePort } satisfies ServerMessage);
  else console.log(JSON.stringify({ port, barePort }));
});
process.on('SIGTERM', () => process.exit(0));
