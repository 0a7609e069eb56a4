import { expect } from 'chai';
import type { Knex } from 'knex';
import { openDb } from '../../app/db.js';

/** The pool's one SQLite connection, as openDb set it up. */
async function connectionOf(db: Knex): Promise<{ prepare(sql: string): unknown }> {
  const conn = await db.client.acquireConnection();
  await db.client.releaseConnection(conn);
  return conn;
}

describe('SQLite statements compiled once per connection', () => {
  it('hands back the statement it compiled for the same SQL, and runs it with each run’s bindings', async () => {
    const db = openDb('sqlite::memory:');
    try {
      const conn = await connectionOf(db);
      expect(conn.prepare('select ? as n')).to.equal(conn.prepare('select ? as n'));
      await db.schema.createTable('t', (t) => {
        t.increments('id');
        t.string('name', 50);
      });
      await db('t').insert([{ name: 'a' }, { name: 'b' }]);
      expect(await db('t').where({ name: 'a' }).pluck('id')).to.deep.equal([1]);
      expect(await db('t').where({ name: 'b' }).pluck('id')).to.deep.equal([2]);
    } finally {
      await db.destroy();
    }
  });

  it('sees a change of the schema in a statement it kept', async () => {
    const db = openDb('sqlite::memory:');
    try {
      await db.schema.createTable('t', (t) => t.integer('a'));
      await db('t').insert({ a: 1 });
      expect(await db.select('*').from('t')).to.deep.equal([{ a: 1 }]);
      await db.schema.alterTable('t', (t) => t.integer('b').defaultTo(7));
      expect(await db.select('*').from('t')).to.deep.equal([{ a: 1, b: 7 }]);
    } finally {
      await db.destroy();
    }
  });

  it('keeps a bounded number of statements, the least recently used leaving first', async () => {
    const db = openDb('sqlite::memory:');
    try {
      const conn = await connectionOf(db);
      const first = conn.prepare('select 0');
      const recent = conn.prepare('select 1');
      for (let i = 2; i <= 300; i++) {
        conn.prepare(`select ${i}`);
        if (i % 50 === 0) expect(conn.prepare('select 1')).to.equal(recent);
      }
      expect(conn.prepare('select 1')).to.equal(recent);
      expect(conn.prepare('select 0')).not.to.equal(first);
    } finally {
      await db.destroy();
    }
  });
});
