import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import supertest from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { createApp } from '../../app/app.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { startTotp } from '../../app/mfa/authenticators.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testConfig } from '../support/app.js';
import { freshDb } from '../support/db.js';

const nestedList = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const nestedMap = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe('robustness: hostile input and how errors answer', function () {
  this.timeout(60_000);
  let t: TestApp;
  let logged: string[];
  let agent: TestAgent;
  let csrf: string;
  let key: string;
  let adminId: number;

  beforeEach(async () => {
    // An app whose log is kept, to read what the error handler wrote.
    const { db, url } = await freshDb();
    logged = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged.push(String(chunk));
        done();
      },
    });
    const config = testConfig(url);
    t = {
      app: createApp({ config, db, logger: pino({ level: 'info' }, sink), sessionSecret: 'test-secret-that-is-long-enough-000' }),
      db,
      url,
      config,
      close: () => db.destroy(),
    };
    adminId = await createUser(t.db, { username: 'ada', admin: true });
    agent = agentFor(t.app);
    await login(agent, 'ada');
    csrf = await csrfOf(agent);
    const token = await createToken(
      t.db,
      { identifier: 'robot', description: '', ownerId: adminId, expires: null },
      { id: adminId, username: 'ada', email: '' },
    );
    if (!token.ok) throw new Error('token');
    key = token.key;
  });
  afterEach(() => t.close());

  const api = () => ({
    post: (path: string) => supertest(t.app).post(path).set('Authorization', `Bearer ${key}`).set('Accept', 'application/json'),
    patch: (path: string) => supertest(t.app).patch(path).set('Authorization', `Bearer ${key}`).set('Accept', 'application/json'),
    get: (path: string) => supertest(t.app).get(path).set('Authorization', `Bearer ${key}`).set('Accept', 'application/json'),
    delete: (path: string) => supertest(t.app).delete(path).set('Authorization', `Bearer ${key}`).set('Accept', 'application/json'),
  });

  async function stillAnswers() {
    expect((await supertest(t.app).get('/-/health/ready/')).status).to.equal(200);
    expect((await agent.get('/directory/users')).status).to.equal(200);
  }

  describe('deeply nested attributes (issue 14, defect 3)', () => {
    it('refuses attributes nested 20,000 levels with a 422 on the field, as often as they come', async () => {
      // Before the fix, the first answered 422 and the second aborted the process.
      const answers = [];
      for (const attributes of [nestedList(20_000), nestedList(20_000), `${'- '.repeat(20_000)}x`, nestedMap(5000), nestedList(20_000)]) {
        answers.push(await agent.post('/directory/users').type('form').send({ _csrf: csrf, username: 'deep', attributes }));
      }
      await stillAnswers();
      for (const res of answers) {
        expect(res.status).to.equal(422);
        expect(res.text).to.contain('Attributes may nest at most 32 levels deep').and.contain('value="deep"');
      }
    });

    it('takes attributes 32 levels deep and refuses 33, and refuses an alias that contains itself', async () => {
      const deep = (levels: number) => JSON.stringify({ top: JSON.parse(nestedMap(levels - 1)) });
      const ok = await agent
        .post('/directory/users')
        .type('form')
        .send({ _csrf: csrf, username: 'deep32', attributes: deep(32) });
      expect(ok.status).to.equal(303);
      for (const attributes of [deep(33), 'a: &a [*a]']) {
        const refused = await agent.post('/directory/users').type('form').send({ _csrf: csrf, username: 'deep33', attributes });
        expect(refused.status).to.equal(422);
        expect(refused.text).to.contain('Attributes may nest at most 32 levels deep');
      }
    });

    it('answers JSON nested thousands of levels on /api/v3 with a 400 in JSON, and keeps answering', async () => {
      const victim = await createUser(t.db, { username: 'victim' });
      for (let i = 0; i < 3; i++) {
        const created = await api()
          .post('/api/v3/core/users/')
          .type('json')
          .send(`{"username":"deep","attributes":${nestedMap(5000)}}`);
        expect(created.status).to.equal(400);
        expect(created.body).to.have.property('detail').that.contains('nested too deeply');
        const patched = await api()
          .patch(`/api/v3/core/users/${victim}/`)
          .type('json')
          .send(`{"attributes":${nestedList(20_000)}}`);
        expect(patched.status).to.equal(400);
        expect(patched.body.detail).to.contain('nested too deeply');
      }
      // Within the body's limit but deeper than attributes may be: the field says why.
      const field = await api()
        .patch(`/api/v3/core/users/${victim}/`)
        .type('json')
        .send(`{"attributes":${nestedMap(40)}}`);
      expect(field.status).to.equal(400);
      expect(field.body).to.deep.equal({ attributes: ['Attributes may nest at most 32 levels deep'] });
      await stillAnswers();
    });
  });

  describe('prototype names and ids that are no ids (issue 14, defect 6)', () => {
    it('lists users in the default order for a sort named like a prototype property, as a page and as a fragment', async () => {
      for (const sort of ['constructor', '__proto__', 'toString', 'hasOwnProperty', '-constructor', 'valueOf']) {
        const page = await agent.get(`/directory/users?sort=${sort}`);
        expect(page.status, sort).to.equal(200);
        expect(page.text).to.contain('sorted by username');
        const fragment = await agent.get(`/directory/users?sort=${sort}`).set('HX-Request', 'true').set('HX-Target', 'div#users-table');
        expect(fragment.status, sort).to.equal(200);
      }
    });

    it('orders the API list by username for an ordering named like a prototype property', async () => {
      for (const ordering of ['constructor', '-__proto__', 'toString', 'hasOwnProperty']) {
        const res = await api().get(`/api/v3/core/users/?ordering=${ordering}`);
        expect(res.status, ordering).to.equal(200);
        expect(res.body.results.map((u: { username: string }) => u.username)).to.deep.equal(['ada']);
      }
    });

    it('answers 404 or a refusal for authenticator ids that are not numbers, on both databases', async () => {
      await startTotp(t.db, adminId, 'ada');
      for (const id of ['abc', '1e400', '99999999999999999999', '-1', '1.5', 'NaN']) {
        expect((await agent.get(`/me/authenticators/${id}/confirm`)).status, id).to.equal(404);
        const confirm = await agent.post(`/me/authenticators/${id}/confirm`).type('form').send({ _csrf: csrf, code: '123456' });
        expect(confirm.status, id).to.equal(404);
        const rename = await agent.post(`/me/authenticators/${id}`).type('form').send({ _csrf: csrf, name: 'x' });
        expect(rename.status, id).to.equal(303);
        const remove = await agent.post(`/me/authenticators/${id}/delete`).type('form').send({ _csrf: csrf });
        expect(remove.status, id).to.equal(303);
      }
      expect((await agent.get('/me')).text).to.contain('There is no such device.');
    });

    it('refuses a session filter that is no user id with a 400, and a session id that is none with a 404', async () => {
      for (const user of ['abc', '1e400', '99999999999999999999', '1.5', '']) {
        const res = await api().get(`/api/v3/core/authenticated_sessions/?user=${user}`);
        expect(res.status, user).to.equal(400);
        expect(res.body).to.deep.equal({ user: ['A valid integer is required.'] });
      }
      expect((await api().get(`/api/v3/core/authenticated_sessions/?user=${adminId}`)).status).to.equal(200);
      for (const id of ['abc', '1e400', '99999999999999999999']) {
        expect((await api().delete(`/api/v3/core/authenticated_sessions/${id}/`)).status, id).to.equal(404);
      }
    });

    it('answers 404 for user, group and application ids beyond the range of ids', async () => {
      for (const path of [
        '/directory/users/99999999999',
        '/directory/users/4294967296',
        '/directory/groups/9999999999',
        '/applications/0',
        '/api/v3/core/users/1e400/',
      ]) {
        const res = path.startsWith('/api/') ? await api().get(path) : await agent.get(path);
        expect(res.status, path).to.equal(404);
      }
    });
  });

  describe('responses (issue 14, defect 9)', () => {
    it('marks every answer for a session or a token no-store, and leaves assets cacheable', async () => {
      const victim = await createUser(t.db, { username: 'victim' });
      const answers = {
        page: await agent.get('/directory/users'),
        fragment: await agent.get('/directory/users').set('HX-Request', 'true').set('HX-Target', 'div#users-table'),
        detail: await agent.get(`/directory/users/${victim}`),
        me: await agent.get('/me'),
        missing: await agent.get('/no/such/page'),
        api: await api().get('/api/v3/core/users/'),
        login: await supertest(t.app).get('/login'),
      };
      for (const [name, res] of Object.entries(answers)) expect(res.headers['cache-control'], name).to.equal('no-store');
      expect((await supertest(t.app).get('/assets/css/roster.css')).headers['cache-control']).to.not.contain('no-store');
    });

    it('answers a malformed or oversized body with the error page, a toast or JSON, never plain text', async () => {
      const page = await agent
        .post('/directory/users')
        .set('Content-Type', 'application/json')
        .set('X-CSRF-Token', csrf)
        .send('{"username": ');
      expect(page.status).to.equal(400);
      expect(page.headers['content-type']).to.contain('text/html');
      expect(page.text).to.contain('<html').and.contain('The request body could not be read').and.contain('Log out');

      const toast = await agent
        .post('/directory/users')
        .set('HX-Request', 'true')
        .set('HX-Target', 'div#modal')
        .type('form')
        .send(`_csrf=${csrf}&x=${'x'.repeat(500_000)}`);
      expect(toast.status).to.equal(413);
      expect(toast.headers['hx-reswap']).to.equal('none');
      expect(toast.text).to.contain('toast-error').and.contain('This request is too large.').and.not.contain('<html');

      const broken = await supertest(t.app)
        .post('/api/v3/core/users/')
        .set('Authorization', `Bearer ${key}`)
        .set('Content-Type', 'application/json')
        .send('{"username": ');
      expect(broken.status).to.equal(400);
      expect(broken.body).to.deep.equal({ detail: 'The request body could not be read: it is not well-formed.' });
      const large = await api()
        .post('/api/v3/core/users/')
        .type('json')
        .send(JSON.stringify({ username: 'x'.repeat(200_000) }));
      expect(large.status).to.equal(413);
      expect(large.body).to.deep.equal({ detail: 'This request is too large.' });
      const multipart = await agent
        .post('/directory/users')
        .set('X-CSRF-Token', csrf)
        .set('Content-Type', 'multipart/form-data; boundary=b')
        .send('--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nunfinished');
      expect(multipart.status).to.equal(400);

      expect(logged.join('')).to.not.contain('error page failed').and.not.contain('res.page is not a function');
    });
  });
});
