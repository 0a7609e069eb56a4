import { expect } from 'chai';
import supertest from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { ensureGroup } from '../../app/directory/groups/groups.js';
import { checkKey, createToken } from '../../app/directory/tokens/tokens.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

const XSS = '<script>alert(1)</script>';

describe('SCIM provisioning in the admin UI: token purpose and folder, provenance of users and groups', () => {
  let t: TestApp;
  let admin: TestAgent;
  let adminId: number;

  async function post(url: string, fields: Record<string, string>) {
    return admin
      .post(url)
      .type('form')
      .send({ _csrf: await csrfOf(admin), ...fields });
  }

  const createForm = (fields: Record<string, string>) =>
    post('/directory/tokens', { identifier: 'okta', description: '', owner: 'akadmin', expires_in: '90', ...fields });

  async function tokenFor(identifier: string, purpose: 'api' | 'scim', path: string | null = null) {
    const owner = (await t.db('users').where({ id: adminId }).first())!;
    const result = await createToken(
      t.db,
      { identifier, description: '', ownerId: adminId, expires: null, purpose, path },
      { id: owner.id, username: owner.username, email: owner.email },
    );
    if (!result.ok) throw new Error('token');
    return { id: result.token.id, key: result.key };
  }

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', admin: true });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
  });
  afterEach(() => t.close());

  describe('creating tokens on /directory/tokens', () => {
    it('offers the purpose and the folder, with its hint, on the form', async () => {
      const form = await admin.get('/directory/tokens/new');
      expect(form.text)
        .to.contain('name="purpose" value="api" checked')
        .and.contain('API (form posts and /api/v3)')
        .and.contain('SCIM provisioning (/scim/v2 only)')
        .and.contain('name="path"')
        .and.contain('SCIM tokens only: the token sees and creates users only in this folder and below; empty: the whole directory');
    });

    it('creates a SCIM token bound to a folder, and one for the whole directory', async () => {
      const bound = await createForm({ identifier: 'okta', purpose: 'scim', path: 'users/okta' });
      expect(bound.status).to.equal(201);
      expect(bound.text).to.contain('/scim/v2').and.contain('users/okta');
      expect(await t.db('api_tokens').where({ identifier: 'okta' }).first('purpose', 'path')).to.deep.equal({
        purpose: 'scim',
        path: 'users/okta',
      });
      expect((await createForm({ identifier: 'entra', purpose: 'scim', path: '  ' })).status).to.equal(201);
      expect(await t.db('api_tokens').where({ identifier: 'entra' }).first('purpose', 'path')).to.deep.equal({
        purpose: 'scim',
        path: null,
      });
    });

    it("keeps the folder as users' folders are kept (Unicode NFC), so that it names the same users", async () => {
      expect((await createForm({ identifier: 'decomposed', purpose: 'scim', path: 'users/e\u0301quipe' })).status).to.equal(201);
      expect((await t.db('api_tokens').where({ identifier: 'decomposed' }).first('path'))!.path).to.equal('users/\u00e9quipe');
    });

    it('keeps API tokens as before: purpose api when the field is left out, and no folder', async () => {
      expect((await createForm({ identifier: 'script' })).status).to.equal(201);
      expect(await t.db('api_tokens').where({ identifier: 'script' }).first('purpose', 'path')).to.deep.equal({
        purpose: 'api',
        path: null,
      });
    });

    it('refuses a bad folder with 422 on the field, keeping the typed values', async () => {
      const res = await createForm({ identifier: 'okta', description: 'Okta push', purpose: 'scim', path: 'users//okta' });
      expect(res.status).to.equal(422);
      expect(res.text)
        .to.contain('id="path-error"')
        .and.contain('A path cannot contain an empty segment (//)')
        .and.contain('value="users//okta"')
        .and.contain('value="Okta push"')
        .and.contain('name="purpose" value="scim" checked');
      expect(await t.db('api_tokens').where({ identifier: 'okta' }).first()).to.equal(undefined);
      const tooDeep = await createForm({ purpose: 'scim', path: '/users' });
      expect(tooDeep.status).to.equal(422);
      expect(tooDeep.text).to.contain('A path cannot start or end with /');
    });

    it('refuses a folder on an API token, and an unknown purpose, with 422', async () => {
      const withFolder = await createForm({ purpose: 'api', path: 'users/okta' });
      expect(withFolder.status).to.equal(422);
      expect(withFolder.text).to.contain('id="path-error"').and.contain('Only a SCIM provisioning token has a folder');
      const unknown = await createForm({ purpose: 'root' });
      expect(unknown.status).to.equal(422);
      expect(unknown.text).to.contain('id="purpose-error"');
      expect(await t.db('api_tokens').count({ n: '*' }).first()).to.deep.include({ n: 0 });
    });
  });

  describe('the tokens table', () => {
    it('shows purpose, folder, last use and what each SCIM token provisioned, counted in one statement', async () => {
      const okta = await tokenFor('okta', 'scim', 'users/okta');
      const entra = await tokenFor('entra', 'scim');
      await tokenFor('script', 'api');
      for (let i = 0; i < 3; i++) await createUser(t.db, { username: `okta-${i}`, path: 'users/okta' });
      await t.db('users').where('username', 'like', 'okta-%').update({ provisioned_by: okta.id });
      await t
        .db('groups')
        .where({ id: await ensureGroup(t.db, 'Okta Sales', false) })
        .update({ provisioned_by: okta.id });
      const orphan = await createUser(t.db, { username: 'by-a-deleted-token' });
      await t.db('users').where({ id: orphan }).update({ provisioned_by: 9999 });
      await t
        .db('api_tokens')
        .where({ id: okta.id })
        .update({ last_used: new Date('2026-03-04T05:06:00Z') });

      const statements: string[] = [];
      const listen = (query: { sql: string }) => statements.push(query.sql);
      t.db.on('query', listen);
      const page = await admin.get('/directory/tokens');
      t.db.off('query', listen);
      expect(page.status).to.equal(200);
      expect(statements.filter((sql) => sql.includes('provisioned_by'))).to.have.length(1);

      const row = (id: number) => new RegExp(`<tr id="token-${id}">([\\s\\S]*?)</tr>`).exec(page.text)![1];
      expect(row(okta.id))
        .to.contain('SCIM provisioning')
        .and.contain('users/okta')
        .and.contain('3 users, 1 group')
        .and.contain('4 Mar 2026, 05:06 UTC');
      expect(row(entra.id)).to.contain('SCIM provisioning').and.contain('Whole directory').and.contain('0 users, 0 groups');
      const scriptId = (await t.db('api_tokens').where({ identifier: 'script' }).first('id'))!.id;
      expect(row(scriptId)).to.contain('>API<').and.not.contain('users,');
    });

    it('needs no count at all while there is no SCIM token', async () => {
      await tokenFor('script', 'api');
      const statements: string[] = [];
      const listen = (query: { sql: string }) => statements.push(query.sql);
      t.db.on('query', listen);
      expect((await admin.get('/directory/tokens')).text).to.contain('script');
      t.db.off('query', listen);
      expect(statements.filter((sql) => sql.includes('provisioned_by'))).to.have.length(0);
    });
  });

  describe('checkKey and bearer authentication', () => {
    it("tells the SCIM server a token's purpose and folder", async () => {
      const okta = await tokenFor('okta', 'scim', 'users/okta');
      const script = await tokenFor('script', 'api');
      expect(await checkKey(t.db, okta.key, '127.0.0.1')).to.deep.equal({
        ok: true,
        userId: adminId,
        tokenId: okta.id,
        identifier: 'okta',
        purpose: 'scim',
        path: 'users/okta',
      });
      expect(await checkKey(t.db, script.key, '127.0.0.1')).to.deep.equal({
        ok: true,
        userId: adminId,
        tokenId: script.id,
        identifier: 'script',
        purpose: 'api',
        path: null,
      });
    });

    it('treats tokens from before SCIM as API tokens', async () => {
      const script = await tokenFor('script', 'api');
      await t.db('api_tokens').where({ id: script.id }).update({ purpose: 'api', path: null });
      expect(await checkKey(t.db, script.key, undefined)).to.include({ ok: true, purpose: 'api', path: null });
    });

    it("refuses a SCIM token on /api/v3 and on form posts (401): it is no administrator's token", async () => {
      const okta = await tokenFor('okta', 'scim');
      const script = await tokenFor('script', 'api');
      const api = await supertest(t.app).get('/api/v3/core/users/').set('Authorization', `Bearer ${okta.key}`);
      expect(api.status).to.equal(401);
      expect(api.body).to.deep.equal({ detail: 'This token is for SCIM provisioning (/scim/v2) only.' });
      const form = await supertest(t.app)
        .post('/directory/users')
        .set('Authorization', `Bearer ${okta.key}`)
        .set('Accept', 'application/json')
        .type('form')
        .send({ username: 'via-scim-token', path: 'users' });
      expect(form.status).to.equal(401);
      expect(form.body.detail).to.equal('This token is for SCIM provisioning (/scim/v2) only.');
      const plain = await supertest(t.app)
        .post('/directory/users/delete')
        .set('Authorization', `Bearer ${okta.key}`)
        .type('form')
        .send({ ids: String(adminId) });
      expect(plain.status).to.equal(401);
      expect(plain.text).to.equal('This token is for SCIM provisioning (/scim/v2) only.');
      expect(await t.db('users').where({ username: 'via-scim-token' }).first()).to.equal(undefined);
      expect(await t.db('users').where({ id: adminId }).first()).to.not.equal(undefined);
      // The API token of the same owner still works.
      expect((await supertest(t.app).get('/api/v3/core/users/').set('Authorization', `Bearer ${script.key}`)).status).to.equal(200);
    });
  });

  describe('provenance on user and group pages', () => {
    it("shows a provisioned user's external ID and token, on the overview and in the list's quick overview", async () => {
      const okta = await tokenFor('okta', 'scim', 'users/okta');
      const id = await createUser(t.db, { username: 'ana', path: 'users/okta' });
      await t
        .db('users')
        .where({ id })
        .update({ external_id: `00u1${XSS}`, provisioned_by: okta.id });
      const page = await admin.get(`/directory/users/${id}`);
      expect(page.status).to.equal(200);
      expect(page.text)
        .to.contain('<dt>External ID</dt><dd><code>00u1&lt;script&gt;alert(1)&lt;/script&gt;</code></dd>')
        .and.contain(`<dt>Provisioned by</dt><dd><a href="/directory/tokens#token-${okta.id}">okta</a></dd>`)
        .and.not.contain(XSS);
      const fragment = await admin.get(`/directory/users/${id}`).set({ 'HX-Request': 'true', 'HX-Target': 'div#user-tabs' });
      expect(fragment.text).to.contain('External ID').and.contain('>okta</a>');
      const list = await admin.get('/directory/users?path=users/okta');
      expect(list.text).to.contain('<dt>External ID<dd>00u1&lt;script&gt;');

      await post('/directory/tokens/delete', { ids: String(okta.id) });
      expect((await admin.get(`/directory/users/${id}`)).text).to.contain(`<dt>Provisioned by</dt><dd>a deleted token (#${okta.id})</dd>`);
    });

    it('says nothing of provisioning for a user made by hand', async () => {
      const id = await createUser(t.db, { username: 'bob' });
      const page = await admin.get(`/directory/users/${id}`);
      expect(page.text).to.not.contain('External ID').and.not.contain('Provisioned by');
    });

    it("shows a provisioned group's external ID and token", async () => {
      const okta = await tokenFor('okta', 'scim');
      const groupId = await ensureGroup(t.db, 'Okta Sales', false);
      await t.db('groups').where({ id: groupId }).update({ external_id: '00g1', provisioned_by: okta.id });
      const page = await admin.get(`/directory/groups/${groupId}`);
      expect(page.text)
        .to.contain('<dt>External ID</dt><dd><code>00g1</code></dd>')
        .and.contain(`<dt>Provisioned by</dt><dd><a href="/directory/tokens#token-${okta.id}">okta</a></dd>`);
      await t.db('groups').where({ id: groupId }).update({ provisioned_by: 4242 });
      expect((await admin.get(`/directory/groups/${groupId}`)).text).to.contain('a deleted token (#4242)');
      const handmade = (await t.db('groups').where({ name: 'Admins' }).first('id'))!.id;
      expect((await admin.get(`/directory/groups/${handmade}`)).text).to.not.contain('Provisioned by');
    });
  });
});
