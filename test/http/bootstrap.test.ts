import { expect } from 'chai';
import { bootstrap } from '../../app/auth/bootstrap.js';
import { hashToken } from '../../app/recovery/tokens.js';
import { agentFor, csrfFrom, login, type TestApp, testApp, testConfig } from '../support/app.js';

async function dumpDatabase(t: TestApp): Promise<string> {
  const tables = ['users', 'groups', 'group_memberships', 'sessions', 'events', 'recovery_tokens'] as const;
  const rows = await Promise.all(tables.map((table) => t.db(table).select()));
  return JSON.stringify(rows);
}

describe('bootstrap and the one-time setup link', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp();
  });
  afterEach(() => t.close());

  it('with BOOTSTRAP_PASSWORD creates the administrator in the Admins superuser group', async () => {
    const config = testConfig(t.url, {
      BOOTSTRAP_USERNAME: 'root-admin',
      BOOTSTRAP_PASSWORD: 'bootstrap-pass',
      BOOTSTRAP_EMAIL: 'root@example.com',
    });
    expect(await bootstrap(t.db, config)).to.deep.equal({});
    const agent = agentFor(t.app);
    expect((await login(agent, 'root-admin', 'bootstrap-pass')).status).to.equal(303);
    expect((await agent.get('/directory/users')).status).to.equal(200);
    const group = await t.db('groups').where({ name: 'Admins' }).first();
    expect(Boolean(group!.is_superuser)).to.equal(true);
    expect((await t.db('users').where({ username: 'root-admin' }).first())!.email).to.equal('root@example.com');
    // Once an administrator can log in, nothing more happens at start.
    expect(await bootstrap(t.db, config)).to.deep.equal({});
    expect(await t.db('users').count({ n: '*' }).first()).to.deep.include({ n: 1 });
  });

  it('processes starting together on an empty database make one administrator and one group', async () => {
    const config = testConfig(t.url, { BOOTSTRAP_USERNAME: 'together', BOOTSTRAP_PASSWORD: 'bootstrap-pass' });
    const results = await Promise.all(Array.from({ length: 4 }, () => bootstrap(t.db, config)));
    expect(results).to.deep.equal([{}, {}, {}, {}]);
    expect(await t.db('users').where({ username: 'together' }).pluck('id')).to.have.length(1);
    expect(await t.db('groups').where({ name: 'Admins' }).pluck('id')).to.have.length(1);
    expect((await login(agentFor(t.app), 'together', 'bootstrap-pass')).status).to.equal(303);
  });

  it('without a password returns a setup link that sets the password once', async () => {
    const config = testConfig(t.url);
    const { setupLink } = await bootstrap(t.db, config);
    expect(setupLink).to.match(/^http:\/\/localhost:3000\/recovery\/[\w-]{43}$/);
    const path = new URL(setupLink!).pathname;
    const token = path.split('/').pop()!;
    expect(await dumpDatabase(t)).to.not.contain(token);
    expect(
      await t
        .db('recovery_tokens')
        .where({ token_hash: hashToken(token) })
        .first(),
    ).to.not.equal(undefined);

    const agent = agentFor(t.app);
    const form = await agent.get(path);
    expect(form.status).to.equal(200);
    expect(form.text).to.contain('akadmin').and.contain('name="password_repeat"');
    expect(form.headers['cache-control']).to.equal('no-store');
    // Opening the link twice (a mail scanner, say) does not use it up.
    expect((await agent.get(path)).status).to.equal(200);

    const res = await agent
      .post(path)
      .type('form')
      .send({ _csrf: csrfFrom(form.text), password: 'a new passphrase', password_repeat: 'a new passphrase' });
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/login');
    expect((await agent.get('/login')).text).to.contain('Your password has been set.');
    expect(await t.db('events').where({ action: 'password_set' }).first()).to.not.equal(undefined);
    expect((await login(agentFor(t.app), 'akadmin', 'a new passphrase')).status).to.equal(303);

    const again = await agent.get(path);
    expect(again.status).to.equal(410);
    expect(again.text).to.contain('This link has expired or was already used');
    const again2 = await agent
      .post(path)
      .type('form')
      .send({ _csrf: csrfFrom(form.text), password: 'another passphrase', password_repeat: 'another passphrase' });
    expect(again2.status).to.equal(410);
    expect((await login(agentFor(t.app), 'akadmin', 'another passphrase')).status).to.equal(401);
  });

  it('a new start without an administrator replaces the earlier link', async () => {
    const config = testConfig(t.url);
    const first = new URL((await bootstrap(t.db, config)).setupLink!).pathname;
    const second = new URL((await bootstrap(t.db, config)).setupLink!).pathname;
    expect((await agentFor(t.app).get(first)).status).to.equal(410);
    expect((await agentFor(t.app).get(second)).status).to.equal(200);
  });

  it('keeps the typed form with 422 for a short, mismatched or username password', async () => {
    const path = new URL((await bootstrap(t.db, testConfig(t.url))).setupLink!).pathname;
    const agent = agentFor(t.app);
    const csrf = csrfFrom((await agent.get(path)).text);
    const cases: [Record<string, string>, string][] = [
      [{ password: 'short', password_repeat: 'short' }, 'Use at least 8 characters'],
      [{ password: 'long enough one', password_repeat: 'long enough two' }, 'The two passwords do not match'],
      [{ password: 'akadmin', password_repeat: 'akadmin' }, 'at least 8'],
    ];
    for (const [fields, message] of cases) {
      const res = await agent
        .post(path)
        .type('form')
        .send({ _csrf: csrf, ...fields });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain(message);
      expect(res.text).to.contain('aria-invalid="true"');
    }
    expect((await agent.get(path)).status).to.equal(200);
  });

  it('refuses expired, unknown and malformed tokens with the same page', async () => {
    const path = new URL((await bootstrap(t.db, testConfig(t.url))).setupLink!).pathname;
    await t.db('recovery_tokens').update({ expires: new Date(Date.now() - 1000) });
    for (const url of [path, '/recovery/' + 'A'.repeat(43), '/recovery/%3Cscript%3E', '/recovery/x']) {
      const res = await agentFor(t.app).get(url);
      expect(res.status, url).to.equal(410);
      expect(res.text).to.contain('This link has expired or was already used');
      expect(res.text).to.not.contain('<script>');
    }
  });

  it('refuses the link of a deactivated user', async () => {
    const path = new URL((await bootstrap(t.db, testConfig(t.url))).setupLink!).pathname;
    await t.db('users').update({ is_active: false });
    expect((await agentFor(t.app).get(path)).status).to.equal(410);
  });
});
