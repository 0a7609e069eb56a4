import { expect } from 'chai';
import type { Knex } from 'knex';
import { STATUSES, statusOf, whereStatus } from '../../app/directory/users/status.js';
import { insertUser } from '../../app/directory/users/users.js';
import { freshDb } from '../support/db.js';

describe("a user's status", () => {
  const now = new Date('2026-12-02T12:00:00Z');
  const before = new Date('2026-12-02T11:59:59Z');
  const after = new Date('2026-12-02T12:00:01Z');
  const user = { isActive: true, validUntil: null, lockedUntil: null };

  it('is Active without an end of validity or a lock', () => {
    expect(statusOf(user, now)).to.equal('active');
    expect(statusOf({ ...user, validUntil: after, lockedUntil: before }, now)).to.equal('active');
  });

  it('is Expired from the end of validity on, and Locked until the lock runs out', () => {
    expect(statusOf({ ...user, validUntil: now }, now)).to.equal('expired');
    expect(statusOf({ ...user, lockedUntil: after }, now)).to.equal('locked');
    expect(statusOf({ ...user, lockedUntil: now }, now)).to.equal('active');
  });

  it('puts an admin’s deactivation first, then expiry, then a lock', () => {
    expect(statusOf({ isActive: false, validUntil: before, lockedUntil: after }, now)).to.equal('deactivated');
    expect(statusOf({ ...user, validUntil: before, lockedUntil: after }, now)).to.equal('expired');
  });
});

/**
 * The list's status filter in SQL against statusOf on the same rows, on the database of this run:
 * random users with ends of validity and locks around a fixed moment (some exactly at it), each
 * status's rows in SQL exactly those statusOf gives that status.
 */
describe('the status filter in SQL agrees with statusOf', function () {
  this.timeout(60_000);
  let db: Knex;
  before(async () => {
    db = (await freshDb()).db;
  });
  after(() => db?.destroy());

  const now = new Date('2026-12-02T12:00:00Z');
  // Whole seconds: MariaDB keeps DATETIME to the second.
  const around = (seed: number) => [null, now, new Date(now.getTime() + (seed % 7200) * 1000 - 3_600_000)][seed % 3];

  it('on 300 random users, each status lists the users statusOf gives it', async () => {
    let seed = 17;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647; // MINSTD: exact in doubles, the same on every run
      return seed;
    };
    const users = Array.from({ length: 300 }, (_, i) => ({
      username: `s${i}`,
      isActive: random() % 4 !== 0,
      validUntil: around(random()),
      lockedUntil: around(random()),
    }));
    for (const user of users) {
      const id = await insertUser(db, { username: user.username, isActive: user.isActive, validUntil: user.validUntil });
      await db('users').where({ id }).update({ locked_until: user.lockedUntil });
    }
    for (const status of STATUSES) {
      const query = db('users').select('username');
      whereStatus(query, status, now);
      const inSql = (await query).map((r: { username: string }) => r.username).sort();
      const expected = users
        .filter((u) => statusOf(u, now) === status)
        .map((u) => u.username)
        .sort();
      expect(inSql, status).to.deep.equal(expected);
      expect(expected.length, `some users are ${status}`).to.be.above(5);
    }
  });
});
