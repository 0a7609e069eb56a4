import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { hashSecret } from '../../app/oauth/applications.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

describe('Applications (OAuth2/OIDC clients)', () => {
  let t: TestApp;
  let admin: TestAgent;

  async function post(url: string, fields: Record<string, string>) {
    return admin
      .post(url)
      .type('form')
      .send({ _csrf: await csrfOf(admin), ...fields });
  }
  const valid = {
    name: 'Wiki',
    slug: 'wiki',
    redirect_uris: 'https://wiki.example.com/callback\nhttp://localhost:8080/cb',
    consent_mode: 'explicit',
  };

  beforeEach(async () => {
    t = await testApp();
    await createUser(t.db, { username: 'akadmin', admin: true });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
  });
  afterEach(() => t.close());

  it('creates an application and shows its secret once; only a hash is stored', async () => {
    const res = await post('/applications', valid);
    expect(res.status).to.equal(201);
    expect(res.headers['cache-control']).to.equal('no-store');
    const row = (await t.db('applications').where({ slug: 'wiki' }).first())!;
    expect(res.headers.location).to.equal(`/applications/${row.id}`);
    const secret = /id="client-secret" value="([^"]+)"/.exec(res.text)![1];
    expect(row.client_secret_hash).to.equal(hashSecret(secret));
    expect(JSON.stringify(await t.db('applications').select())).to.not.contain(secret);
    expect(JSON.parse(row.redirect_uris)).to.deep.equal(['https://wiki.example.com/callback', 'http://localhost:8080/cb']);
    const page = await admin.get(`/applications/${row.id}`);
    expect(page.text).to.contain(row.client_id).and.not.contain(secret);
    expect((await admin.get('/applications')).text).to.contain('>Wiki</a>');
  });

  it('refuses a taken slug, a bad slug and bad redirect URIs with 422 on the field', async () => {
    await post('/applications', valid);
    for (const [change, field, message] of [
      [{ slug: 'wiki' }, 'slug', 'Another application has this slug'],
      [{ slug: 'Not A Slug' }, 'slug', 'lowercase letters'],
      [{ redirect_uris: 'not a url' }, 'redirect_uris', 'is not an absolute URL'],
      [{ redirect_uris: 'ftp://x.example/cb' }, 'redirect_uris', 'must be http(s)'],
      [{ redirect_uris: '' }, 'redirect_uris', 'Enter at least one redirect URI'],
      [{ consent_mode: 'sometimes' }, 'consent_mode', 'Choose one of the consent modes'],
    ] as const) {
      const res = await post('/applications', { ...valid, name: 'Other', ...change });
      expect(res.status, JSON.stringify(change)).to.equal(422);
      expect(res.text).to.contain(`id="${field}-error"`).and.contain(message);
      expect(res.text).to.contain('value="Other"');
    }
  });

  it('edits, rotates the secret (the old one stops matching) and deletes with consents and tokens', async () => {
    await post('/applications', valid);
    const row = (await t.db('applications').where({ slug: 'wiki' }).first())!;
    const edit = await post(`/applications/${row.id}`, { ...valid, name: 'Team wiki', consent_mode: 'always' });
    expect(edit.status).to.equal(303);
    expect((await t.db('applications').where({ id: row.id }).first())!.consent_mode).to.equal('always');
    const rotated = await post(`/applications/${row.id}/secret`, {});
    const secret = /id="client-secret" value="([^"]+)"/.exec(rotated.text)![1];
    expect((await t.db('applications').where({ id: row.id }).first())!.client_secret_hash)
      .to.equal(hashSecret(secret))
      .and.not.equal(row.client_secret_hash);

    const userId = (await t.db('users').where({ username: 'akadmin' }).first())!.id;
    await t.db('consents').insert({
      user_id: userId,
      application_id: row.id,
      grant_id: 'g1',
      scopes: 'openid',
      created: new Date(),
      expires: new Date(Date.now() + 1e6),
    });
    await t.db('oauth_artifacts').insert({
      id: 'rt1',
      kind: 'RefreshToken',
      payload: '{}',
      grant_id: 'g1',
      user_id: userId,
      application_id: row.id,
      created: new Date(),
    });
    const review = await admin.get(`/applications/delete?ids=${row.id}`);
    expect(review.text).to.contain('Delete 1 application?').and.contain('Every consent and token');
    expect((await post('/applications/delete', { ids: String(row.id) })).status).to.equal(303);
    expect(await t.db('consents').first()).to.equal(undefined);
    expect(await t.db('oauth_artifacts').where({ id: 'rt1' }).first()).to.equal(undefined);
  });

  it('is for administrators only', async () => {
    await createUser(t.db, { username: 'member' });
    const member = agentFor(t.app);
    await login(member, 'member');
    expect((await member.get('/applications')).status).to.equal(403);
    expect(
      (
        await member
          .post('/applications')
          .type('form')
          .send({ _csrf: await csrfOf(member), ...valid })
      ).status,
    ).to.equal(403);
  });
});
