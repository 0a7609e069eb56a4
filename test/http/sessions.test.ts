import http from 'node:http';
import { expect } from 'chai';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp } from '../../app/app.js';
import { openDb } from '../../app/db.js';
import { KnexSessionStore } from '../../app/http/session-store.js';
import { agentFor, createUser, csrfFrom, login, PASSWORD, serve, type TestApp, testApp } from '../support/app.js';

describe('database sessions', () => {
  let t: TestApp;
  let userId: number;

  beforeEach(async () => {
    t = await testApp();
    userId = await createUser(t.db, { username: 'ada', admin: true });
  });
  afterEach(() => t.close());

  it('keeps one row per signed-in session with user, IP, user agent, last used and expiry', async () => {
    const agent = agentFor(t.app);
    await agent.get('/login').set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0');
    await login(agent.set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0'), 'ada');
    await agent.get('/me');
    const rows = await t.db('sessions').where({ user_id: userId });
    expect(rows).to.have.length(1);
    expect(rows[0].last_ip).to.match(/127\.0\.0\.1|::1/);
    expect(rows[0].last_user_agent).to.contain('Firefox/130.0');
    expect(new Date(rows[0].expires as never).getTime()).to.be.greaterThan(Date.now() + 86_400_000);
    expect(rows[0].last_used).to.not.equal(null);
    expect(rows[0].data).to.not.contain(PASSWORD);
  });

  it('sends a redirect only once the session it changed is saved, so the next page finds it', async () => {
    // A browser follows a redirect as soon as its headers arrive. express-session sends them before
    // a slow store has saved the session: the next page then missed the login or the toast.
    const served = await serve(t.app);
    const original = KnexSessionStore.prototype.set;
    KnexSessionStore.prototype.set = function slowSet(this: KnexSessionStore, sid, sess, callback) {
      setTimeout(() => original.call(this, sid, sess, callback), 300);
    };
    try {
      const agent = agentFor(t.app);
      const form = await agent.get('/login');
      const cookie = String(form.headers['set-cookie'] ?? '').split(';')[0];
      const body = new URLSearchParams({ _csrf: csrfFrom(form.text), username: 'ada', password: PASSWORD }).toString();
      const signedInRows = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          `${served.baseUrl}/login`,
          {
            method: 'POST',
            headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            expect(res.statusCode).to.equal(303);
            // What the page after the redirect would find, read the moment the redirect arrives.
            t.db('sessions')
              .where({ user_id: userId })
              .count({ n: '*' })
              .then(([{ n }]) => resolve(Number(n)), reject);
            res.resume();
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(signedInRows, 'signed-in session rows when the redirect arrived').to.equal(1);
    } finally {
      KnexSessionStore.prototype.set = original;
      await new Promise((resolve) => setTimeout(resolve, 400)); // the second save still under way
      await served.close();
    }
  });

  it('stores no session for an anonymous visitor who is redirected, nor saves an unchanged one again', async () => {
    const anonymous = agentFor(t.app);
    expect((await anonymous.get('/')).status).to.equal(303);
    expect((await anonymous.get('/directory/users')).status).to.equal(303);
    const [{ n }] = await t.db('sessions').count({ n: '*' });
    expect(Number(n), 'session rows of anonymous visitors').to.equal(0);

    const agent = agentFor(t.app);
    await login(agent, 'ada');
    const before = await t.db('sessions').where({ user_id: userId }).first('data');
    const original = KnexSessionStore.prototype.set;
    let saves = 0;
    KnexSessionStore.prototype.set = function countedSet(this: KnexSessionStore, sid, sess, callback) {
      saves += 1;
      original.call(this, sid, sess, callback);
    };
    try {
      expect((await agent.get('/')).status).to.equal(303);
    } finally {
      KnexSessionStore.prototype.set = original;
    }
    expect(saves, 'saves of an unchanged session on a redirect').to.equal(0);
    expect(await t.db('sessions').where({ user_id: userId }).first('data')).to.deep.equal(before);
  });

  it('ends a session at its next request when its row is deleted', async () => {
    const agent = agentFor(t.app);
    await login(agent, 'ada');
    expect((await agent.get('/directory/users')).status).to.equal(200);
    await t.db('sessions').where({ user_id: userId }).delete();
    const res = await agent.get('/directory/users');
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.match(/^\/login/);
  });

  it('does not bring back a row deleted while one of its requests was running', async () => {
    const agent = agentFor(t.app);
    await login(agent, 'ada');
    const [row] = await t.db('sessions').where({ user_id: userId });
    // A save of the loaded session (as at the end of that request) after the revocation:
    const { KnexSessionStore } = await import('../../app/http/session-store.js');
    const store = new KnexSessionStore(t.db);
    const data = await new Promise<Record<string, unknown>>((resolve, reject) =>
      store.get(row.sid, (err, sess) => (err ? reject(err) : resolve(sess as never))),
    );
    const fakeReq = { sessionID: row.sid, sessionStore: store } as never;
    const loaded = store.createSession(fakeReq, data as never);
    await t.db('sessions').where({ sid: row.sid }).delete();
    await new Promise<void>((resolve, reject) => store.set(row.sid, loaded, (err) => (err ? reject(err) : resolve())));
    expect(await t.db('sessions').where({ sid: row.sid }).first()).to.equal(undefined);
  });

  it('logs out only the session whose row was deleted when a user has two', async () => {
    const first = agentFor(t.app);
    const second = agentFor(t.app);
    await login(first, 'ada');
    await login(second, 'ada');
    const rows = await t.db('sessions').where({ user_id: userId }).orderBy('created');
    expect(rows).to.have.length(2);
    await t.db('sessions').where({ sid: rows[0].sid }).delete();
    const outcomes = [(await first.get('/me')).status, (await second.get('/me')).status];
    expect(outcomes.sort()).to.deep.equal([200, 303]);
  });

  it('ends sessions of a user who was deactivated', async () => {
    const agent = agentFor(t.app);
    await login(agent, 'ada');
    await t.db('users').where({ id: userId }).update({ is_active: false });
    expect((await agent.get('/me')).status).to.equal(303);
  });

  it('two app instances on one database share sessions: a session deleted through one is refused by the other', async () => {
    const otherDb = openDb(t.url);
    try {
      const other = createApp({
        config: t.config,
        db: otherDb,
        logger: pino({ level: 'silent' }),
        sessionSecret: 'test-secret-that-is-long-enough-000',
      });
      const one = supertest.agent(t.app);
      await login(one, 'ada');
      const cookie = one.jar
        .getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false })
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
      expect((await supertest(other).get('/directory/users').set('Cookie', cookie)).status).to.equal(200);
      // The session is revoked through the first instance's database handle …
      await t.db('sessions').where({ user_id: userId }).delete();
      // … and the second instance refuses it at once.
      const res = await supertest(other).get('/directory/users').set('Cookie', cookie);
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.match(/^\/login/);
    } finally {
      await otherDb.destroy();
    }
  });

  it('sets HttpOnly and SameSite=Lax cookies, and Secure when PUBLIC_URL is https', async () => {
    const res = await agentFor(t.app).get('/login');
    expect(res.headers['set-cookie'][0])
      .to.match(/HttpOnly/)
      .and.match(/SameSite=Lax/)
      .and.not.match(/Secure/);
    const secure = await testApp({ PUBLIC_URL: 'https://id.example.com', TRUST_PROXY: '1' });
    try {
      const res2 = await supertest(secure.app).get('/login').set('X-Forwarded-Proto', 'https');
      expect(res2.headers['set-cookie'][0]).to.match(/Secure/);
      expect(res2.headers['strict-transport-security']).to.be.a('string');
    } finally {
      await secure.close();
    }
  });

  it('sends a CSP that allows no inline script', async () => {
    const res = await agentFor(t.app).get('/login');
    const csp = res.headers['content-security-policy'];
    expect(csp).to.contain("script-src 'self'");
    expect(csp).to.not.contain('unsafe-inline');
    expect(res.text).to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(csrfFrom(res.text)).to.be.a('string');
  });
});
