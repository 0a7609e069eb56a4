import { expect } from 'chai';
import supertest from 'supertest';
import { agentFor, createUser, login, type TestApp, testApp } from '../support/app.js';

describe('health, errors and assets', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp();
  });
  afterEach(() => t.close());

  it('answers liveness and readiness', async () => {
    const live = await supertest(t.app).get('/-/health/live/');
    expect(live.status).to.equal(200);
    const ready = await supertest(t.app).get('/-/health/ready/');
    expect(ready.status).to.equal(200);
    expect(ready.body).to.deep.equal({ status: 'ok', database: 'ok' });
  });

  it('reports not ready when the database does not answer', async () => {
    await t.db.destroy();
    const res = await supertest(t.app).get('/-/health/ready/');
    expect(res.status).to.equal(503);
    expect(res.body.database).to.equal('unreachable');
    expect((await supertest(t.app).get('/-/health/live/')).status).to.equal(200);
  });

  it('renders a 404 page inside the layout', async () => {
    const res = await supertest(t.app).get('/no/such/page');
    expect(res.status).to.equal(404);
    expect(res.text).to.contain('Page not found').and.contain('<html');
  });

  it('answers a failing htmx region request with a toast instead of a broken region', async () => {
    await createUser(t.db, { username: 'ada', admin: true });
    const agent = agentFor(t.app);
    await login(agent, 'ada');
    const res = await agent.get('/directory/nothing-here').set('HX-Request', 'true').set('HX-Target', 'div#users-table');
    expect(res.status).to.equal(404);
    expect(res.headers['hx-reswap']).to.equal('none');
    expect(res.text).to.match(/^<hx-partial hx-target="#toasts" hx-swap="beforeend">/);
    expect(res.text).to.contain('There is nothing at this address.');
    expect(res.text).to.not.contain('<html');
  });

  it('answers an internal error with a 500 page that leaks nothing, and a toast for htmx', async () => {
    await createUser(t.db, { username: 'ada', admin: true });
    const agent = agentFor(t.app);
    await login(agent, 'ada');
    await t.db.schema.renameTable('users', 'users_moved');
    try {
      // The signed-in user cannot be loaded: every request fails inside the app.
      const page = await agent.get('/me');
      expect(page.status).to.equal(500);
      expect(page.text).to.contain('Something went wrong').and.not.contain('users_moved').and.not.contain('SQL');
      const fragment = await agent.get('/me').set('HX-Request', 'true').set('HX-Target', 'div#panel');
      expect(fragment.status).to.equal(500);
      expect(fragment.headers['hx-reswap']).to.equal('none');
      expect(fragment.text).to.contain('toast-error');
    } finally {
      await t.db.schema.renameTable('users_moved', 'users');
    }
  });

  it('gzips responses only when COMPRESSION is on', async () => {
    const plain = await supertest(t.app).get('/login').set('Accept-Encoding', 'gzip');
    expect(plain.headers['content-encoding']).to.equal(undefined);
    const zipped = await testApp({ COMPRESSION: 'true' });
    try {
      const res = await supertest(zipped.app).get('/login').set('Accept-Encoding', 'gzip');
      expect(res.headers['content-encoding']).to.equal('gzip');
    } finally {
      await zipped.close();
    }
  });

  it('serves htmx, the stylesheet and the script from the app itself', async () => {
    const htmx = await supertest(t.app).get('/assets/htmx.min.js');
    expect(htmx.status).to.equal(200);
    expect(htmx.headers['content-type']).to.contain('javascript');
    expect((await supertest(t.app).get('/assets/css/roster.css')).status).to.equal(200);
    expect((await supertest(t.app).get('/assets/js/roster.js')).status).to.equal(200);
    const page = await supertest(t.app).get('/login');
    expect(page.text)
      .to.contain('src="/assets/htmx.min.js"')
      .and.not.match(/https?:\/\/(?!localhost)[^"]*\.js/);
  });
});
