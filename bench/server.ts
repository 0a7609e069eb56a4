// The Roster server the bench measures, in a process of its own so that its memory and CPU are not
// mixed with the load generator's. It counts SQL statements and times the slowest one; the bench
// (bench/run.ts, the parent) asks for those figures and for the peak RSS over IPC.
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { createApp } from '../app/app.js';
import { loadConfig } from '../app/config.js';
import { openDb } from '../app/db.js';
import { checkpointInBackground } from '../app/sqlite-checkpoints.js';

export interface ServerStats {
  statements: number;
  slowestMs: number;
  slowestSql: string;
  rssMb: number;
  peakRssMb: number;
}
export type ServerMessage = { port: number; barePort: number } | { stats: ServerStats };

const secret = 'b'.repeat(40);
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
    slowestSql = q.sql.slice(0, 60);
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
// The ceiling to compare against: a bare Express route returning a fixed string, in this process.
const bare = createServer(
  express().get('/', (_req, res) => {
    res.send('ok');
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
