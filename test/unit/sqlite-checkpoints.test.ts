import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { openDb } from '../../app/db.js';
import { checkpointInBackground } from '../../app/sqlite-checkpoints.js';

describe('SQLite checkpoints in a worker thread', function () {
  this.timeout(20_000);

  it('moves committed pages from the log into the database file while the server connection stays open', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-wal-'));
    const url = `sqlite:${path.join(dir, 'db.sqlite3')}`;
    const db = openDb(url);
    try {
      const stop = await checkpointInBackground(db, url);
      expect((await db.raw('pragma wal_autocheckpoint'))[0].wal_autocheckpoint).to.equal(0);
      await db.schema.createTable('t', (t) => {
        t.increments('id');
        t.string('text', 200);
      });
      const sizeBefore = fs.statSync(path.join(dir, 'db.sqlite3')).size;
      await db.batchInsert('t', Array.from({ length: 5000 }, (_, i) => ({ text: `row ${i} ${'x'.repeat(100)}` })) as never, 500);
      // Without a checkpoint the rows stay in the log (db.sqlite3-wal); the worker copies them over.
      let size = sizeBefore;
      for (let waited = 0; waited < 10_000 && size <= sizeBefore; waited += 250) {
        await new Promise((r) => setTimeout(r, 250));
        size = fs.statSync(path.join(dir, 'db.sqlite3')).size;
      }
      expect(size).to.be.greaterThan(sizeBefore + 500_000);
      await stop();
    } finally {
      await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waits for the log to be quiet, but not for ever', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-wal-'));
    const file = path.join(dir, 'db.sqlite3');
    const db = openDb(`sqlite:${file}`);
    const writeFor = async (ms: number) => {
      for (const end = Date.now() + ms; Date.now() < end; ) {
        await db('t').insert({ text: 'x'.repeat(4000) });
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await db.schema.createTable('t', (t) => {
        t.increments('id');
        t.string('text', 4000);
      });
      // Never quiet enough, and no forced checkpoint within the test: the rows stay in the log.
      let stop = await checkpointInBackground(db, `sqlite:${file}`, { tickMs: 50, quietMs: 60_000, atMostEveryMs: 60_000 });
      const sizeBefore = fs.statSync(file).size;
      await writeFor(1500);
      expect(fs.statSync(file).size, 'checkpointed while writes went on').to.equal(sizeBefore);
      await stop();
      // Still never quiet, but a checkpoint at least every 500 ms: the rows reach the file while writes go on.
      stop = await checkpointInBackground(db, `sqlite:${file}`, { tickMs: 50, quietMs: 60_000, atMostEveryMs: 500 });
      const sizeThen = fs.statSync(file).size;
      await writeFor(1500);
      expect(fs.statSync(file).size).to.be.greaterThan(sizeThen);
      await stop();
    } finally {
      await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands checkpoints back to SQLite when the worker cannot run, without taking the server down', async () => {
    const db = openDb('sqlite::memory:');
    try {
      // The worker cannot open this file; the server's own connection is fine.
      const stop = await checkpointInBackground(db, 'sqlite:/nonexistent-dir/roster.sqlite3');
      let setting = 0;
      for (let waited = 0; waited < 5000 && setting === 0; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
        setting = (await db.raw('pragma wal_autocheckpoint'))[0].wal_autocheckpoint;
      }
      expect(setting).to.equal(1000);
      await stop();
    } finally {
      await db.destroy();
    }
  });
});
