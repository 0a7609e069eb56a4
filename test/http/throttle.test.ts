import { expect } from 'chai';
import * as OTPAuth from 'otpauth';
import { pino } from 'pino';
import supertest from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { createApp } from '../../app/app.js';
import { LIMITS } from '../../app/auth/throttle/rules.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { statusOf } from '../../app/directory/users/status.js';
import { findById } from '../../app/directory/users/users.js';
import { startTotp } from '../../app/mfa/authenticators.js';
import { createRecoveryToken } from '../../app/recovery/tokens.js';
import { agentFor, createUser, csrfFrom, csrfOf, login, PASSWORD, type TestApp, testApp } from '../support/app.js';
import { TEST_DB } from '../support/db.js';

/**
 * The brute-force protection (README, "Brute-force protection"). Clients are told apart by their
 * address, sent as X-Forwarded-For to an app that trusts the loopback proxy (as the hostile walker
 * does); the production default trusts no proxy.
 */
describe('brute-force protection: logins, second factors, recovery links', function () {
  this.timeout(120_000);
  let t: TestApp;
  let anaId: number;
  let adminId: number;

  beforeEach(async () => {
    t = await testApp({ TRUST_PROXY: 'loopback' });
    adminId = await createUser(t.db, { username: 'akadmin', admin: true, email: 'admin@example.com' });
    anaId = await createUser(t.db, { username: 'ana', email: 'ana@example.com' });
  });
  afterEach(() => t.close());

  /** A login through the form from that address; a new browser (no cookies) unless an agent is given. */
  async function attempt(address: string, username: string, password: string, agent: TestAgent = agentFor(t.app)) {
    const page = await agent.get('/login').set('X-Forwarded-For', address);
    return agent
      .post('/login')
      .set('X-Forwarded-For', address)
      .type('form')
      .send({ _csrf: csrfFrom(page.text), username, password });
  }

  async function fail(times: number, address: string, username = 'ana') {
    const statuses: number[] = [];
    for (let i = 0; i < times; i++) statuses.push((await attempt(address, username, 'wrong password')).status);
    return statuses;
  }

  /** A browser that logged in as the user once (so it holds the known-browser cookie), then logged out. */
  async function knownBrowser(username: string, address = '10.9.9.9'): Promise<TestAgent> {
    const agent = agentFor(t.app);
    expect((await attempt(address, username, PASSWORD, agent)).status).to.equal(303);
    await agent
      .post('/logout')
      .type('form')
      .send({ _csrf: await csrfOf(agent) });
    return agent;
  }

  const errorOf = (html: string) => /<p class="form-error"[^>]*>([^<]*)</.exec(html)?.[1];
  const reasons = async () =>
    (await t.db('events').where({ action: 'login_failed' }).orderBy('id')).map((e) => JSON.parse(e.context).reason as string);
  const eventCount = async (action: 'user_locked' | 'user_unlocked') =>
    Number((await t.db('events').where({ action }).count({ n: '*' }).first())!.n);

  /** Twenty failures from four addresses: the account-wide lock. */
  async function lockAna() {
    for (const address of ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4']) await fail(LIMITS.client.failures, address);
  }

  it('wrong passwords from one address hold that address back from the account only', async () => {
    const known = await knownBrowser('ana', '10.0.0.9');
    const statuses = await fail(LIMITS.client.failures, '10.0.0.9');
    expect(statuses).to.deep.equal(Array(LIMITS.client.failures).fill(401));
    const refused = await attempt('10.0.0.9', 'ana', PASSWORD);
    expect(refused.status, 'the right password from that address').to.equal(429);
    expect(refused.text).to.contain('Too many failed attempts');
    expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
    const wrongToo = await attempt('10.0.0.9', 'ana', 'wrong password');
    expect(wrongToo.status, 'a wrong one is refused the same way').to.equal(429);
    expect(errorOf(wrongToo.text)).to.equal(errorOf(refused.text));

    expect((await attempt('10.0.0.8', 'ana', PASSWORD)).status, 'another address').to.equal(303);
    expect((await attempt('10.0.0.9', 'ana', PASSWORD, known)).status, 'a browser that logged in before').to.equal(303);
    // One event per counted attempt; the refusals of one counter are recorded once a minute at most.
    expect(await reasons()).to.deep.equal([...Array(LIMITS.client.failures).fill('wrong_password'), 'throttled_account']);
  });

  it('a login gives the browser a signed, HttpOnly, long-lived cookie; only a hash of it is stored, and a forged one counts for nothing', async () => {
    const agent = agentFor(t.app);
    const res = await attempt('10.0.0.1', 'ana', PASSWORD, agent);
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('roster.browser='))!;
    expect(cookie)
      .to.match(/HttpOnly/)
      .and.match(/SameSite=Lax/)
      .and.match(/Max-Age=15552000/);
    const [id] = /^roster\.browser=([^;]+)/.exec(cookie)![1].split('.');
    const rows = await t.db('known_browsers').where({ user_id: anaId });
    expect(rows).to.have.length(1);
    expect(JSON.stringify(rows)).to.not.contain(id);
    await agent
      .post('/logout')
      .type('form')
      .send({ _csrf: await csrfOf(agent) });

    await fail(LIMITS.client.failures, '10.0.0.9');
    const forged = agentFor(t.app);
    forged.jar.setCookie(`roster.browser=${id}.not-the-signature`, '127.0.0.1', '/');
    expect((await attempt('10.0.0.9', 'ana', PASSWORD, forged)).status, 'a forged cookie').to.equal(429);
    expect((await attempt('10.0.0.9', 'ana', PASSWORD, agent)).status, 'the real one').to.equal(303);
  });

  it('the old attack: ten wrong passwords for akadmin from one address leave the administrator free to log in elsewhere', async () => {
    const statuses = await fail(10, '203.0.113.7', 'akadmin');
    expect(statuses.filter((s) => s === 401)).to.have.length(LIMITS.client.failures);
    expect(statuses.filter((s) => s === 429)).to.have.length(10 - LIMITS.client.failures);
    const admin = agentFor(t.app);
    expect((await attempt('198.51.100.1', 'akadmin', PASSWORD, admin)).status).to.equal(303);
    expect((await admin.get('/directory/users')).status).to.equal(200);
    expect((await findById(t.db, adminId))!.lockedUntil).to.equal(null);
  });

  it('each block after the fifth failure doubles (1 minute, then 2), and a success starts the count afresh', async () => {
    await fail(LIMITS.client.failures, '10.0.0.9');
    // The minute has passed: one more failure blocks for two.
    await t.db('login_failures').update({ blocked_until: new Date(Date.now() - 1000) });
    expect((await attempt('10.0.0.9', 'ana', 'wrong password')).status).to.equal(401);
    const refused = await attempt('10.0.0.9', 'ana', PASSWORD);
    expect(refused.status).to.equal(429);
    expect(Number(refused.headers['retry-after'])).to.be.within(61, 120);
    await t.db('login_failures').update({ blocked_until: null });
    expect((await attempt('10.0.0.9', 'ana', PASSWORD)).status).to.equal(303);
    expect((await fail(LIMITS.client.failures - 1, '10.0.0.9')).every((s) => s === 401)).to.equal(true);
    expect((await attempt('10.0.0.9', 'ana', PASSWORD)).status, 'four failures after a success do not block').to.equal(303);
  });

  it('many failures from one address, over any accounts, hold back that address (but not a known browser there)', async () => {
    const known = await knownBrowser('ana', '10.0.0.9');
    for (let i = 0; i < LIMITS.address.failures; i++) {
      expect((await attempt('10.0.0.9', `guess${i}`, 'wrong password')).status).to.equal(401);
    }
    const refused = await attempt('10.0.0.9', 'akadmin', PASSWORD);
    expect(refused.status).to.equal(429);
    expect(refused.text).to.contain('from your network');
    expect(Number(refused.headers['retry-after'])).to.be.within(LIMITS.address.blockMs / 1000 - 60, LIMITS.address.blockMs / 1000);
    expect((await attempt('10.0.0.10', 'akadmin', PASSWORD)).status, 'another address').to.equal(303);
    expect((await attempt('10.0.0.9', 'ana', PASSWORD, known)).status, 'a known browser').to.equal(303);
    expect((await reasons()).filter((r) => r === 'unknown_user')).to.have.length(LIMITS.address.failures);
  });

  it('failures from several addresses lock the account, once, for clients without a known browser or a second factor', async () => {
    const known = await knownBrowser('ana');
    await lockAna();
    const user = (await findById(t.db, anaId))!;
    expect(statusOf(user)).to.equal('locked');
    expect(user.lockReason).to.equal('20 failed logins from 4 addresses');
    expect(user.lockedUntil!.getTime() - Date.now()).to.be.within(LIMITS.account.lockMs - 60_000, LIMITS.account.lockMs);
    const locked = (await t.db('events').where({ action: 'user_locked' }))[0];
    expect(locked.user_pk).to.equal(anaId);
    expect(JSON.parse(locked.context)).to.include({ reason: '20 failed logins from 4 addresses', failures: 20, addresses: 4 });

    const refused = await attempt('10.2.0.1', 'ana', PASSWORD);
    expect(refused.status, 'the right password from a new client').to.equal(429);
    expect(refused.text).to.contain('This account is locked');
    expect(Number(refused.headers['retry-after'])).to.be.within(LIMITS.account.lockMs / 1000 - 60, LIMITS.account.lockMs / 1000);
    expect((await attempt('10.2.0.2', 'ana', 'wrong password')).text).to.contain('This account is locked');
    expect((await attempt('10.1.0.1', 'ana', PASSWORD, known)).status, 'a known browser').to.equal(303);
    expect(await eventCount('user_locked')).to.equal(1);
    expect(await reasons()).to.include('locked');

    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const page = await admin.get(`/directory/users/${anaId}`);
    expect(page.text).to.contain('Locked until').and.contain('20 failed logins from 4 addresses').and.contain('>Unlock</button>');
  });

  it('a locked account still lets the right password plus a second factor in', async () => {
    const { secret } = await startTotp(t.db, anaId, 'ana');
    await t.db('authenticators').where({ user_id: anaId }).update({ confirmed: true });
    await lockAna();
    expect(statusOf((await findById(t.db, anaId))!)).to.equal('locked');
    const agent = agentFor(t.app);
    const password = await attempt('10.2.0.1', 'ana', PASSWORD, agent);
    expect(password.headers.location).to.equal('/login/mfa');
    const page = await agent.get('/login/mfa').set('X-Forwarded-For', '10.2.0.1');
    const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) }).generate();
    const second = await agent
      .post('/login/mfa')
      .set('X-Forwarded-For', '10.2.0.1')
      .type('form')
      .send({ _csrf: csrfFrom(page.text), code });
    expect(second.status).to.equal(303);
    expect((await agent.get('/me')).status).to.equal(200);
  });

  it('an unknown username is refused like a known one (no way to tell which accounts exist)', async () => {
    for (const address of ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4']) await fail(LIMITS.client.failures, address, 'nobody');
    const ghost = await attempt('10.2.0.1', 'nobody', PASSWORD);
    expect(ghost.status).to.equal(429);
    expect(ghost.text).to.contain('This account is locked');
    expect(await eventCount('user_locked')).to.equal(0);
  });

  it('an administrator unlocks: the lock and its counters are cleared, user_unlocked recorded once', async () => {
    await lockAna();
    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const csrf = await csrfOf(admin);
    const unlock = () =>
      admin
        .post(`/directory/users/${anaId}/unlock`)
        .type('form')
        .send({ _csrf: csrf, from: `/directory/users/${anaId}/sessions` });
    const posted = await unlock();
    expect(posted.status).to.equal(303);
    expect(posted.headers.location).to.equal(`/directory/users/${anaId}/sessions`);
    const page = await admin.get(`/directory/users/${anaId}/sessions`);
    expect(page.text).to.contain('ana unlocked').and.not.contain('Locked until');
    const user = (await findById(t.db, anaId))!;
    expect([user.lockedUntil, user.lockReason]).to.deep.equal([null, null]);
    expect(await t.db('login_failures').whereNotNull('account')).to.deep.equal([]);
    const unlocked = (await t.db('events').where({ action: 'user_unlocked' }))[0];
    expect(unlocked.user_pk).to.equal(adminId);
    expect(JSON.parse(unlocked.context).model).to.include({ pk: anaId, name: 'ana' });
    expect((await attempt('10.1.0.1', 'ana', PASSWORD)).status, 'a client that was held back').to.equal(303);

    // Locked again, then unlocked twice at once (a double submit): one event for the lock lifted.
    await lockAna();
    expect(await eventCount('user_locked')).to.equal(2);
    expect((await Promise.all([unlock(), unlock()])).map((r) => r.status)).to.deep.equal([303, 303]);
    expect(await eventCount('user_unlocked')).to.equal(2);
    expect((await findById(t.db, anaId))!.lockedUntil).to.equal(null);
  });

  it('unlock answers htmx with a toast and users-changed, programs with 303; only administrators, only with CSRF', async () => {
    await t
      .db('users')
      .where({ id: anaId })
      .update({ locked_until: new Date(Date.now() + 600_000), lock_reason: 'test' });
    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const htmx = await admin
      .post(`/directory/users/${anaId}/unlock`)
      .set({ 'HX-Request': 'true', 'HX-Target': 'form#user-lock', 'X-CSRF-Token': await csrfOf(admin) });
    expect(htmx.status).to.equal(200);
    expect(htmx.headers['hx-trigger']).to.equal('users-changed');
    expect(htmx.headers['hx-reswap']).to.equal('none');
    expect(htmx.text).to.contain('ana unlocked');
    expect(await eventCount('user_unlocked')).to.equal(1);

    await t
      .db('users')
      .where({ id: anaId })
      .update({ locked_until: new Date(Date.now() + 600_000), lock_reason: 'test' });
    expect((await admin.post(`/directory/users/${anaId}/unlock`).type('form').send({})).status, 'no CSRF token').to.equal(403);
    await createUser(t.db, { username: 'bob' });
    const member = agentFor(t.app);
    await login(member, 'bob');
    const refused = await member
      .post(`/directory/users/${anaId}/unlock`)
      .type('form')
      .send({ _csrf: await csrfOf(member) });
    expect(refused.status).to.equal(403);
    expect((await findById(t.db, anaId))!.lockedUntil).to.not.equal(null);

    const minted = await createToken(
      t.db,
      { identifier: 'unlocker', description: '', ownerId: adminId, expires: null },
      { id: adminId, username: 'akadmin', email: '' },
    );
    if (!minted.ok) throw new Error('token');
    const program = await supertest(t.app).post(`/directory/users/${anaId}/unlock`).set('Authorization', `Bearer ${minted.key}`);
    expect(program.status).to.equal(303);
    expect((await findById(t.db, anaId))!.lockedUntil).to.equal(null);
    expect(await eventCount('user_unlocked')).to.equal(2);
    expect(
      (
        await admin
          .post('/directory/users/999999/unlock')
          .type('form')
          .send({ _csrf: await csrfOf(admin) })
      ).status,
    ).to.equal(404);
  });

  it('a lock runs out by itself', async () => {
    await lockAna();
    await t
      .db('users')
      .where({ id: anaId })
      .update({ locked_until: new Date(Date.now() - 1000) });
    expect(statusOf((await findById(t.db, anaId))!)).to.equal('active');
    expect((await attempt('10.2.0.1', 'ana', PASSWORD)).status).to.equal(303);
    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    expect((await admin.get(`/directory/users/${anaId}`)).text).to.not.contain('Locked until');
  });

  it('failures spread over two app instances on one database count once (no state in the process)', async () => {
    const other = createApp({
      config: t.config,
      db: t.db,
      logger: pino({ level: 'silent' }),
      sessionSecret: 'test-secret-that-is-long-enough-000',
    });
    for (let i = 0; i < LIMITS.client.failures; i++) {
      const agent = agentFor(i % 2 ? other : t.app);
      expect((await attempt('10.0.0.9', 'ana', 'wrong password', agent)).status).to.equal(401);
    }
    expect((await attempt('10.0.0.9', 'ana', PASSWORD, agentFor(other))).status).to.equal(429);
    expect((await attempt('10.0.0.9', 'ana', PASSWORD)).status).to.equal(429);
  });

  it('wrong second-factor codes are counted in the database per user and client', async () => {
    await startTotp(t.db, anaId, 'ana');
    await t.db('authenticators').where({ user_id: anaId }).update({ confirmed: true });
    const other = createApp({
      config: t.config,
      db: t.db,
      logger: pino({ level: 'silent' }),
      sessionSecret: 'test-secret-that-is-long-enough-000',
    });
    const agent = agentFor(t.app);
    const password = await attempt('10.0.0.9', 'ana', PASSWORD, agent);
    expect(password.headers.location).to.equal('/login/mfa');
    const code = async (target: TestAgent, address: string, value: string) => {
      const page = await target.get('/login/mfa').set('X-Forwarded-For', address);
      return target
        .post('/login/mfa')
        .set('X-Forwarded-For', address)
        .type('form')
        .send({ _csrf: csrfFrom(page.text), code: value });
    };
    for (let i = 0; i < LIMITS.client.failures; i++) expect((await code(agent, '10.0.0.9', '000000')).status).to.equal(401);
    const row = await t.db('login_failures').where({ kind: 'mfa' }).first();
    expect(row!.failures).to.equal(LIMITS.client.failures);
    // The same session, through another instance: the count is the database's, not a process's.
    const session = (password.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    const page = await supertest(other).get('/login/mfa').set({ Cookie: session, 'X-Forwarded-For': '10.0.0.9' });
    const refused = await supertest(other)
      .post('/login/mfa')
      .set({ Cookie: session, 'X-Forwarded-For': '10.0.0.9' })
      .type('form')
      .send({ _csrf: csrfFrom(page.text), code: '000000' });
    expect(refused.status).to.equal(429);
    expect(refused.text).to.contain('Too many wrong codes');
    expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
    // Another client of the same user (the password again, from another address) is not held back.
    const fresh = agentFor(t.app);
    expect((await attempt('10.0.0.8', 'ana', PASSWORD, fresh)).headers.location).to.equal('/login/mfa');
    expect((await code(fresh, '10.0.0.8', '000000')).status).to.equal(401);
    expect((await reasons()).filter((r) => r === 'throttled_mfa')).to.have.length(1);
  });

  it('wrong codes spread over many addresses hold back the second step for all but a known browser', async () => {
    const { secret } = await startTotp(t.db, anaId, 'ana');
    await t.db('authenticators').where({ user_id: anaId }).update({ confirmed: true });
    const totp = (steps: number) =>
      new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + steps * 30_000 });
    const secondStep = async (agent: TestAgent, address: string, code: string) => {
      const page = await agent.get('/login/mfa').set('X-Forwarded-For', address);
      return agent
        .post('/login/mfa')
        .set('X-Forwarded-For', address)
        .type('form')
        .send({ _csrf: csrfFrom(page.text), code });
    };
    const known = agentFor(t.app);
    await attempt('10.9.9.9', 'ana', PASSWORD, known);
    expect((await secondStep(known, '10.9.9.9', totp(-1))).status).to.equal(303);
    await known
      .post('/logout')
      .type('form')
      .send({ _csrf: await csrfOf(known) });

    const perAddress = LIMITS.client.failures;
    for (let a = 0; a < LIMITS.secondFactor.failures / perAddress; a++) {
      const agent = agentFor(t.app);
      await attempt(`10.3.0.${a}`, 'ana', PASSWORD, agent);
      for (let i = 0; i < perAddress; i++) expect((await secondStep(agent, `10.3.0.${a}`, '000000')).status).to.equal(401);
    }
    const fresh = agentFor(t.app);
    expect((await attempt('10.4.0.1', 'ana', PASSWORD, fresh)).headers.location).to.equal('/login/mfa');
    const refused = await secondStep(fresh, '10.4.0.1', totp(0));
    expect(refused.status, 'the right code from a new address').to.equal(429);
    expect(Number(refused.headers['retry-after'])).to.be.within(
      LIMITS.secondFactor.blockMs / 1000 - 60,
      LIMITS.secondFactor.blockMs / 1000,
    );
    await attempt('10.4.0.1', 'ana', PASSWORD, known);
    expect((await secondStep(known, '10.4.0.1', totp(1))).status, 'a known browser').to.equal(303);
  });

  it('unknown, used or expired recovery links are counted per address', async () => {
    const { token } = await createRecoveryToken(t.db, anaId, 3_600_000);
    const open = (address: string, value: string) => supertest(t.app).get(`/recovery/${value}`).set('X-Forwarded-For', address);
    for (let i = 0; i < LIMITS.recovery.failures; i++) expect((await open('10.0.0.9', `guess-${i}`)).status).to.equal(410);
    const refused = await open('10.0.0.9', token);
    expect(refused.status, 'even a valid link, once the address is held back').to.equal(429);
    expect(refused.text).to.contain('Too many invalid links');
    expect(Number(refused.headers['retry-after'])).to.be.within(1, LIMITS.recovery.blockMs / 1000);
    expect((await open('10.0.0.8', token)).status, 'another address').to.equal(200);
  });

  it('parallel failed logins count exactly, without a 5xx, and lock the account once', async function () {
    if (TEST_DB !== 'mysql') this.skip(); // SQLite runs them one after another: nothing to race
    const clients = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const agent = agentFor(t.app);
        const address = `10.5.0.${i % 10}`;
        const page = await agent.get('/login').set('X-Forwarded-For', address);
        return { agent, address, csrf: csrfFrom(page.text) };
      }),
    );
    const responses = await Promise.all(
      clients.map(({ agent, address, csrf }) =>
        agent
          .post('/login')
          .set('X-Forwarded-For', address)
          .type('form')
          .send({ _csrf: csrf, username: 'ana', password: 'wrong password' }),
      ),
    );
    expect(responses.filter((r) => r.status >= 500)).to.deep.equal([]);
    expect(new Set(responses.map((r) => r.status))).to.satisfy((s: Set<number>) => [...s].every((n) => n === 401 || n === 429));
    const counted = (await reasons()).filter((r) => r === 'wrong_password').length;
    expect(counted).to.equal(responses.filter((r) => r.status === 401).length);
    const rows = await t.db('login_failures').select('kind', 'failures');
    const sum = (kind: string) => rows.filter((r) => r.kind === kind).reduce((n, r) => n + Number(r.failures), 0);
    expect(sum('account'), 'the account counted every failure').to.equal(counted);
    expect(sum('address'), 'and each address its own').to.equal(counted);
    expect(sum('client')).to.equal(counted);
    expect(await eventCount('user_locked')).to.equal(1);
    expect(statusOf((await findById(t.db, anaId))!)).to.equal('locked');
  });
});
