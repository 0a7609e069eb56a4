import { expect } from 'chai';
import { hashPassword } from '../../app/auth/passwords.js';
import { LIMITS } from '../../app/auth/throttle/rules.js';
import { agentFor, createUser, csrfFrom, csrfOf, login, PASSWORD, type TestApp, testApp } from '../support/app.js';

describe('login and logout', () => {
  let t: TestApp;
  let adminId: number;
  let memberId: number;

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'ada', admin: true, email: 'ada@example.com' });
    memberId = await createUser(t.db, { username: 'bob' });
  });
  afterEach(() => t.close());

  it('shows the login form with a CSRF field to anonymous visitors', async () => {
    const res = await agentFor(t.app).get('/login');
    expect(res.status).to.equal(200);
    expect(res.text).to.contain('name="username"').and.contain('name="password"');
    expect(csrfFrom(res.text)).to.have.length.greaterThan(10);
  });

  it('logs an administrator in, records the event with the client IP and the last login', async () => {
    const agent = agentFor(t.app);
    const res = await login(agent, 'ada');
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/');
    expect((await agent.get('/')).headers.location).to.equal('/directory/users');
    expect((await agent.get('/directory/users')).status).to.equal(200);
    const event = await t.db('events').where({ action: 'login' }).first();
    expect(event).to.include({ user_pk: adminId, app: 'roster.auth' });
    expect(JSON.parse(event!.user)).to.deep.equal({ pk: adminId, username: 'ada', email: 'ada@example.com' });
    expect(event!.client_ip).to.match(/127\.0\.0\.1|::1/);
    expect((await t.db('users').where({ id: adminId }).first())!.last_login).to.not.equal(null);
  });

  it('regenerates the session id at login', async () => {
    const agent = agentFor(t.app);
    const page = await agent.get('/login');
    const before = page.headers['set-cookie'][0].split(';')[0];
    const res = await agent
      .post('/login')
      .type('form')
      .send({ _csrf: csrfFrom(page.text), username: 'ada', password: PASSWORD });
    // The session cookie, not the known-browser cookie that a login sets beside it.
    const after = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('roster.sid='))!.split(';')[0];
    expect(after).to.not.equal(before);
    expect(await t.db('sessions').where({ user_id: adminId }).count({ n: '*' }).first()).to.deep.include({ n: 1 });
  });

  it('follows a local next parameter and ignores another site', async () => {
    const agent = agentFor(t.app);
    const page = await agent.get('/login?next=/me');
    expect(page.text).to.contain('name="next" value="/me"');
    const res = await agent
      .post('/login')
      .type('form')
      .send({ _csrf: csrfFrom(page.text), username: 'ada', password: PASSWORD, next: '/me' });
    expect(res.headers.location).to.equal('/me');
    const other = agentFor(t.app);
    const page2 = await other.get('/login');
    const res2 = await other
      .post('/login')
      .type('form')
      .send({ _csrf: csrfFrom(page2.text), username: 'ada', password: PASSWORD, next: '//evil.example' });
    expect(res2.headers.location).to.equal('/');
  });

  it('refuses a wrong password and an unknown user with the same message, keeping the typed username', async () => {
    const wrong = await login(agentFor(t.app), 'ada', 'not the password');
    const unknown = await login(agentFor(t.app), 'nobody', 'not the password');
    for (const res of [wrong, unknown]) {
      expect(res.status).to.equal(401);
      expect(res.text).to.contain('Invalid username or password.');
    }
    expect(unknown.text).to.contain('value="nobody"');
    const failures = await t.db('events').where({ action: 'login_failed' }).orderBy('id');
    expect(failures.map((e) => JSON.parse(e.context).reason)).to.deep.equal(['wrong_password', 'unknown_user']);
    expect(failures[1].user_pk).to.equal(null);
  });

  it('takes about as long for an unknown user as for a wrong password', async function () {
    this.timeout(60_000);
    // A realistic work factor, so that bcrypt dominates the time measured.
    await t
      .db('users')
      .where({ id: adminId })
      .update({ password: await hashPassword(PASSWORD, 10) });
    const { authenticate } = await import('../../app/auth/login.js');
    const once = async (username: string) => {
      const start = process.hrtime.bigint();
      await authenticate(t.db, username, 'wrong password', 10);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    await once('nobody'); // the dummy hash is made once, on first use
    // Interleaved samples, so that load on the machine hits both alike; medians compared.
    const known: number[] = [];
    const unknownSamples: number[] = [];
    for (let i = 0; i < 7; i++) {
      known.push(await once('ada'));
      unknownSamples.push(await once('nobody'));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const [knownMs, unknown] = [median(known), median(unknownSamples)];
    // Without the dummy comparison an unknown user would answer ~50× faster.
    expect(unknown / knownMs).to.be.within(0.6, 1.6);
  });

  it('refuses inactive users and users without a usable password', async () => {
    await createUser(t.db, { username: 'gone', isActive: false });
    await createUser(t.db, { username: 'nopass', password: null });
    for (const username of ['gone', 'nopass']) {
      const agent = agentFor(t.app);
      const res = await login(agent, username);
      expect(res.status, username).to.equal(401);
      expect((await agent.get('/me')).status).to.equal(303);
    }
  });

  it('asks for both fields with a 422', async () => {
    const agent = agentFor(t.app);
    const page = await agent.get('/login');
    const res = await agent
      .post('/login')
      .type('form')
      .send({ _csrf: csrfFrom(page.text), username: 'ada', password: '' });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('Enter your username and password.');
  });

  it('logs out: the session row is deleted, the event recorded, and a toast shown on the login page', async () => {
    const agent = agentFor(t.app);
    await login(agent, 'ada');
    const res = await agent
      .post('/logout')
      .type('form')
      .send({ _csrf: await csrfOf(agent) });
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/login');
    expect(await t.db('sessions').where({ user_id: adminId }).first()).to.equal(undefined);
    expect(await t.db('events').where({ action: 'logout', user_pk: adminId }).first()).to.not.equal(undefined);
    const page = await agent.get('/login');
    expect(page.text).to.contain('You have been logged out.');
    expect((await agent.get('/directory/users')).status).to.equal(303);
  });

  it('refuses a POST without a CSRF token with 403', async () => {
    const agent = agentFor(t.app);
    await login(agent, 'ada');
    const res = await agent.post('/logout').type('form').send({});
    expect(res.status).to.equal(403);
    expect(res.text).to.contain('Reload the page');
    expect(await t.db('sessions').where({ user_id: adminId }).first()).to.not.equal(undefined);
    const anonymous = await agentFor(t.app).post('/login').type('form').send({ username: 'ada', password: PASSWORD });
    expect(anonymous.status).to.equal(403);
  });

  it('accepts the CSRF token in the X-CSRF-Token header (as htmx sends it)', async () => {
    const agent = agentFor(t.app);
    await login(agent, 'ada');
    const res = await agent
      .post('/logout')
      .set('X-CSRF-Token', await csrfOf(agent))
      .set('HX-Request', 'true');
    expect(res.status).to.equal(204);
    expect(res.headers['hx-redirect']).to.equal('/login');
  });

  it('limits failed logins per username with a clear message', async () => {
    const agent = agentFor(t.app);
    const page = await agent.get('/login');
    const csrf = csrfFrom(page.text);
    for (let i = 0; i < LIMITS.client.failures; i++) {
      const res = await agent.post('/login').type('form').send({ _csrf: csrf, username: 'ada', password: 'wrong' });
      expect(res.status).to.equal(401);
    }
    const blocked = await agent.post('/login').type('form').send({ _csrf: csrf, username: 'ada', password: PASSWORD });
    expect(blocked.status).to.equal(429);
    expect(blocked.text).to.contain('Too many failed attempts');
    // Another username from the same client is not blocked yet.
    const other = await agent.post('/login').type('form').send({ _csrf: csrf, username: 'bob', password: PASSWORD });
    expect(other.status).to.equal(303);
  });

  it('limits failed logins per client IP across usernames', async function () {
    this.timeout(60_000);
    const agent = agentFor(t.app);
    const csrf = csrfFrom((await agent.get('/login')).text);
    for (let i = 0; i < LIMITS.address.failures; i++) {
      await agent
        .post('/login')
        .type('form')
        .send({ _csrf: csrf, username: `guess${i}`, password: 'wrong' });
    }
    const blocked = await agent.post('/login').type('form').send({ _csrf: csrf, username: 'ada', password: PASSWORD });
    expect(blocked.status).to.equal(429);
  });

  it('sends a signed-in non-administrator to /me and answers 403 in the directory', async () => {
    const agent = agentFor(t.app);
    await login(agent, 'bob');
    expect((await agent.get('/')).headers.location).to.equal('/me');
    const me = await agent.get('/me');
    expect(me.status).to.equal(200);
    expect(me.text).to.contain('bob').and.contain('Log out');
    expect(me.text).to.not.contain('href="/directory/users"');
    for (const path of ['/directory/users', '/applications']) {
      expect((await agent.get(path)).status, path).to.equal(403);
    }
    expect(memberId).to.be.a('number');
  });

  it('sends anonymous visitors to the login page, and htmx requests get HX-Redirect', async () => {
    const page = await agentFor(t.app).get('/directory/users?q=a');
    expect(page.status).to.equal(303);
    expect(page.headers.location).to.equal('/login?next=%2Fdirectory%2Fusers%3Fq%3Da');
    const fragment = await agentFor(t.app).get('/directory/users').set('HX-Request', 'true').set('HX-Target', 'div#users-table');
    expect(fragment.status).to.equal(401);
    expect(fragment.headers['hx-redirect']).to.match(/^\/login/);
    expect(fragment.text).to.equal('');
  });
});
