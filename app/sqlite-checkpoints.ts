import { Worker } from 'node:worker_threads';
import type { Knex } from 'knex';
import { isSqlite } from './db.js';

const EVERY_MS = 2000;

// The worker: its own connection to the same file, checkpointing in PASSIVE mode (it copies what
// it can and never waits for readers or the writer).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');
const db = new Database(workerData.filename);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} }, workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} db.close(); parentPort.close(); });
`;

/**
 * SQLite in WAL mode copies the log back into the database file (a checkpoint) inside the commit
 * that takes the log past 1,000 pages: better-sqlite3 does it on the event loop, so a request waits
 * for it (deleting 1,000 users from a million: 2 s, of which 1.1 s checkpoint). The server turns
 * that off and checkpoints from a worker thread with its own connection instead, every 2 seconds.
 * Returns a stop function (a last checkpoint); nothing to do on MySQL or for an in-memory database.
 */
export async function checkpointInBackground(db: Knex, databaseUrl: string): Promise<() => Promise<void>> {
  const filename = databaseUrl.slice('sqlite:'.length);
  if (!isSqlite(db) || filename === ':memory:') return async () => {};
  await db.raw('pragma wal_autocheckpoint = 0');
  const worker = new Worker(WORKER, { eval: true, workerData: { filename, everyMs: EVERY_MS } });
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
