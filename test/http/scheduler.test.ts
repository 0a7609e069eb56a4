import { expect } from 'chai';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { openDb } from '../../app/db.js';
import { releaseLease, takeLease } from '../../app/directory/users/offboarding/lease.js';
import { type OffboardingSpec, scheduleOffboarding } from '../../app/directory/users/offboarding/offboarding.js';
import { createScheduler, runDueActions, SCHEDULER_LEASE } from '../../app/directory/users/offboarding/scheduler.js';
import { agentFor, createUser, login, type TestApp, testApp } from '../support/app.js';
import { TEST_DB } from '../support/db.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the offboarding scheduler', function () {
  this.timeout(60_000);
  let t: TestApp;
  let adminId: number;
  let anaId: number;
  const admin = () => ({ id: adminId, username: 'akadmin', email: '' });
  const silent = pino({ level: 'silent' });
  const schedule = (userIds: number[], spec: OffboardingSpec, now?: Date) => scheduleOffboarding(t.db, userIds, spec, admin(), now);
  const user = async (id: number) => t.db('users').where({ id }).first();
  const events = (action: string) => t.db('events').where({ action }).orderBy('id');

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', admin: true });
    anaId = await createUser(t.db, { username: 'ana' });
  });
  afterEach(() => t.close());

  it('deactivates a user when the time comes, as the system, ending their sessions, and records who scheduled it', async () => {
    const now = Date.now();
    const ana = agentFor(t.app);
    await login(ana, 'ana');
    await schedule([anaId], { action: 'deactivate', when: { at: new Date(now + 60 * MINUTE) }, reason: 'Contract ends' });
    const scheduler = createScheduler(t.db, t.config, silent, 'process-a');

    expect(await scheduler.tick(new Date(now + 59 * MINUTE))).to.deep.equal({ held: true, done: 0, failed: 0, waiting: 0 });
    expect(Boolean((await user(anaId))!.is_active)).to.equal(true);

    expect(await scheduler.tick(new Date(now + 61 * MINUTE))).to.deep.equal({ held: true, done: 1, failed: 0, waiting: 0 });
    expect(Boolean((await user(anaId))!.is_active)).to.equal(false);
    expect(await t.db('sessions').where({ user_id: anaId })).to.deep.equal([]);
    expect((await ana.get('/me')).status).to.equal(303);
    expect(await t.db('scheduled_actions')).to.deep.equal([]);
    const [event] = await events('model_updated');
    expect(event.user_pk).to.equal(null);
    const context = JSON.parse(event.context);
    expect(context).to.include({ actor: 'system', is_active: false });
    expect(context.model).to.include({ pk: anaId, name: 'ana' });
    expect(context.scheduled_action).to.include({ action: 'deactivate', reason: 'Contract ends' });
    expect(context.scheduled_action.scheduled_by).to.deep.equal({ pk: adminId, username: 'akadmin' });

    // Nothing is left to run: the next tick does nothing.
    expect(await scheduler.tick(new Date(now + 62 * MINUTE))).to.include({ done: 0 });
    expect(await events('model_updated')).to.have.length(1);
  });

  it('deletes a user through the pages’ deletion', async () => {
    const now = Date.now();
    await schedule([anaId], { action: 'delete', when: { at: new Date(now + MINUTE) }, reason: '' });
    const report = await createScheduler(t.db, t.config, silent).tick(new Date(now + 2 * MINUTE));
    expect(report).to.include({ held: true, done: 1 });
    expect(await user(anaId)).to.equal(undefined);
    const [event] = await events('model_deleted');
    expect(JSON.parse(event.context)).to.deep.include({ actor: 'system', deleted_user: { pk: anaId, username: 'ana', email: '' } });
  });

  it('an idle rule runs once the user has not logged in for the days, from the last login or the join date', async () => {
    const now = Date.now();
    const benId = await createUser(t.db, { username: 'ben' });
    const cleoId = await createUser(t.db, { username: 'cleo' });
    await t
      .db('users')
      .whereIn('id', [anaId, benId])
      .update({ last_login: new Date(now - 40 * DAY) });
    await t
      .db('users')
      .where({ id: cleoId })
      .update({ date_joined: new Date(now - 40 * DAY) });
    await schedule([anaId, benId, cleoId], { action: 'deactivate', when: { idleDays: 30 }, reason: '' });
    // Ben logs in after the rule was scheduled: his time starts again.
    await t
      .db('users')
      .where({ id: benId })
      .update({ last_login: new Date(now - DAY) });

    const scheduler = createScheduler(t.db, t.config, silent);
    expect(await scheduler.tick(new Date(now))).to.deep.equal({ held: true, done: 2, failed: 0, waiting: 1 });
    expect(Boolean((await user(anaId))!.is_active)).to.equal(false);
    expect(Boolean((await user(cleoId))!.is_active)).to.equal(false);
    expect(Boolean((await user(benId))!.is_active)).to.equal(true);
    const ben = await t.db('scheduled_actions').where({ user_id: benId }).first();
    expect(ben).to.include({ state: 'pending' });
    expect(new Date(ben!.due).getTime()).to.equal(now - DAY + 30 * DAY);

    expect(await scheduler.tick(new Date(now + 28 * DAY))).to.include({ done: 0, waiting: 0 });
    expect(await scheduler.tick(new Date(now + 29 * DAY + MINUTE))).to.include({ done: 1 });
    expect(Boolean((await user(benId))!.is_active)).to.equal(false);
  });

  it('a time missed while no server ran runs at the first tick of the next start', async () => {
    await schedule([anaId], { action: 'deactivate', when: { at: new Date(Date.now() + 1000) }, reason: '' });
    await t.db('scheduled_actions').update({ run_at: new Date(Date.now() - DAY), due: new Date(Date.now() - DAY) });
    const scheduler = createScheduler(t.db, { ...t.config, schedulerIntervalMs: DAY }, silent, 'restarted');
    scheduler.start();
    try {
      await until(async () => !(await user(anaId))!.is_active);
    } finally {
      await scheduler.stop();
    }
    // Stopping gave the lease up: another process takes it at once.
    const lease = await t.db('leases').where({ name: SCHEDULER_LEASE }).first();
    expect(lease!.holder).to.equal('restarted');
    expect(await takeLease(t.db, SCHEDULER_LEASE, 'other', new Date(), 1000)).to.equal(true);
  });

  it('never deletes the last active administrator: the action fails with the reason, shown in the list and on the page, and is not tried again', async () => {
    const bossId = await createUser(t.db, { username: 'boss', admin: true });
    const now = Date.now();
    await schedule([bossId], { action: 'delete', when: { at: new Date(now + MINUTE) }, reason: '' });
    // Meanwhile the other administrator was deactivated: boss is the last active one.
    await t.db('users').where({ id: adminId }).update({ is_active: false });
    const scheduler = createScheduler(t.db, t.config, silent);
    expect(await scheduler.tick(new Date(now + 2 * MINUTE))).to.include({ done: 0, failed: 1 });
    const row = await t.db('scheduled_actions').where({ user_id: bossId }).first();
    expect(row).to.include({
      state: 'failed',
      failure: 'This would leave no active administrator: at least one active user must stay in a superuser group.',
    });
    expect(await user(bossId)).to.include({ username: 'boss' });
    expect(await events('model_deleted')).to.deep.equal([]);
    expect(await scheduler.tick(new Date(now + 3 * MINUTE))).to.include({ done: 0, failed: 0 });
    expect(await t.db('scheduled_actions').where({ user_id: bossId }).first()).to.include({ state: 'failed' });

    await t.db('users').where({ id: adminId }).update({ is_active: true });
    const agent = agentFor(t.app);
    await login(agent, 'akadmin');
    expect((await agent.get('/directory/users/scheduled')).text)
      .to.contain('Failed')
      .and.contain('This would leave no active administrator');
    expect((await agent.get(`/directory/users/${bossId}`)).text)
      .to.contain('Offboarding failed')
      .and.contain('It failed');
  });

  describe('with two processes on one database', () => {
    let other: Knex;
    // MariaDB: a second pool, as a second process has; SQLite: the one connection (the file takes one writer at a time).
    beforeEach(() => {
      other = TEST_DB === 'mysql' ? openDb(t.url) : t.db;
    });
    afterEach(async () => {
      if (other !== t.db) await other.destroy();
    });

    it('ticking at once, one holds the lease and runs each action; one event per user', async () => {
      const now = Date.now();
      const ids = [anaId];
      for (let i = 0; i < 12; i++) ids.push(await createUser(t.db, { username: `leaver${i}` }));
      await schedule(ids, { action: 'deactivate', when: { at: new Date(now + MINUTE) }, reason: '' });
      const a = createScheduler(t.db, t.config, silent, 'a');
      const b = createScheduler(other, t.config, silent, 'b');
      const at = new Date(now + 2 * MINUTE);
      const reports = await Promise.all([a.tick(at), b.tick(at)]);
      expect(reports.map((r) => r.held).sort()).to.deep.equal([false, true]);
      expect(reports.reduce((n, r) => n + r.done, 0)).to.equal(13);
      expect(await events('model_updated')).to.have.length(13);
      expect(await t.db('users').whereIn('id', ids).where({ is_active: true })).to.deep.equal([]);
    });

    it('two holders at once (a lease that expired mid-run) still run each action once', async () => {
      const now = Date.now();
      const ids = [anaId];
      for (let i = 0; i < 12; i++) ids.push(await createUser(t.db, { username: `leaver${i}` }));
      await schedule(ids.slice(0, 7), { action: 'deactivate', when: { at: new Date(now + MINUTE) }, reason: '' });
      await schedule(ids.slice(7), { action: 'delete', when: { at: new Date(now + MINUTE) }, reason: '' });
      const at = new Date(now + 2 * MINUTE);
      const reports = await Promise.all([t.db, other].map((db) => runDueActions(db, { now: at, deleteEvents: true, logger: silent })));
      expect(reports.reduce((n, r) => n + r.done, 0)).to.equal(13);
      expect(await events('model_updated')).to.have.length(7);
      expect(await events('model_deleted')).to.have.length(6);
      expect(await t.db('scheduled_actions')).to.deep.equal([]);
    });

    it('the lease is held by one until it expires, then passes on; stopping gives it up', async () => {
      const ttl = 3 * t.config.schedulerIntervalMs;
      const now = Date.now();
      const a = createScheduler(t.db, t.config, silent, 'a');
      const b = createScheduler(other, t.config, silent, 'b');
      expect((await a.tick(new Date(now))).held).to.equal(true);
      expect((await b.tick(new Date(now + 1000))).held).to.equal(false);
      expect((await a.tick(new Date(now + 2000))).held).to.equal(true); // renewed until now + 2 s + ttl
      expect((await b.tick(new Date(now + 2000 + ttl - 1))).held).to.equal(false);
      expect((await b.tick(new Date(now + 2000 + ttl))).held).to.equal(true);
      expect((await a.tick(new Date(now + 2000 + ttl + 1))).held).to.equal(false);
      await releaseLease(other, SCHEDULER_LEASE, 'a'); // not a's to give up any more: nothing changes
      expect((await a.tick(new Date(now + 2000 + ttl + 2))).held).to.equal(false);
      await b.stop();
      expect((await a.tick(new Date(now + 2000 + ttl + 3))).held).to.equal(true);
    });
  });

  it('logs a failing tick and keeps going', async () => {
    const { logger, lines } = capturingLogger();
    await t.db.schema.renameTable('scheduled_actions', 'scheduled_elsewhere');
    const scheduler = createScheduler(t.db, { ...t.config, schedulerIntervalMs: 1000 }, logger);
    try {
      scheduler.start();
      await until(async () => lines.some((l) => l.level === 50 && /scheduler tick failed/.test(l.msg)));
    } finally {
      await t.db.schema.renameTable('scheduled_elsewhere', 'scheduled_actions');
    }
    await schedule([anaId], { action: 'deactivate', when: { at: new Date(Date.now() + 500) }, reason: '' });
    try {
      await until(async () => !(await user(anaId))!.is_active);
    } finally {
      await scheduler.stop();
    }
  });
});
