import { Worker } from 'node:worker_threads';
import type { Knex } from 'knex';
import { isSqlite } from './db.js';

/** When the worker checkpoints: the log has been quiet for quietMs, or the last checkpoint is atMostEveryMs old. */
export interface CheckpointTiming {
  tickMs: number;
  quietMs: number;
  atMostEveryMs: number;
}
const TIMING: CheckpointTiming = { tickMs: 250, quietMs: 500, atMostEveryMs: 10_000 };

// The worker: its own connection to the same file, checkpointing in PASSIVE mode (it copies what
// it can and never waits for readers or the writer). It waits until no page has been written to
// the log for quietMs, so that a checkpoint's copying and fsync do not compete with a large write
// still going on (a fixed interval made back-to-back bulk deletes slower and less even), and
// checkpoints anyway once the last one is atMostEveryMs old.
const WORKER = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');
const { filename, tickMs, quietMs, atMostEveryMs } = workerData;
const db = new Database(filename);
db.pragma('busy_timeout = 1000');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
let last = Date.now();
let checkpointedWrite = 0;
const timer = setInterval(() => {
  let written;
  try { written = fs.statSync(filename + '-wal').mtimeMs; } catch { return; }
  const now = Date.now();
  if (written === checkpointedWrite) return;
  if (now - written < quietMs && now - last < atMostEveryMs) return;
  checkpoint();
  last = now;
  checkpointedWrite = written;
}, tickMs);
parentPort.on('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); });
`;

/**
 * SQLite in WAL mode copies the log back into the database file (a checkpoint) inside the commit
 * that takes the log past 1,000 pages: better-sqlite3 does it on the event loop, so a request waits
 * for it, and a large delete pays for the whole checkpoint on top of its own work. The server turns
 * that off and checkpoints from a worker thread with its own connection instead, once writes pause.
 * Returns a stop function (a last checkpoint); nothing to do on MySQL or for an in-memory database.
 */
export async function checkpointInBackground(db: Knex, databaseUrl: string, timing = TIMING): Promise<() => Promise<void>> {
  const filename = databaseUrl.slice('sqlite:'.length);
  if (!isSqlite(db) || filename === ':memory:') return async () => {};
  await db.raw('pragma wal_autocheckpoint = 0');
  const worker = new Worker(WORKER, { eval: true, workerData: { filename, ...timing } });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping = false;
  // A worker that fails (it could not open the file, say) hands checkpoints back to SQLite.
  worker.on('error', () => {});
  void exited.then(() => (stopping ? undefined : db.raw('pragma wal_autocheckpoint = 1000').catch(() => {})));
  return async () => {
    stopping = true;
    worker.postMessage('stop');
    await exited;
  };
}
