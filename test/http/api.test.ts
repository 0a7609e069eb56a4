import { Configuration, CoreApi, ResponseError } from '@goauthentik/api';
import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { addMember, ensureGroup } from '../../app/directory/groups/groups.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { agentFor, createUser, csrfFrom, csrfOf, login, PASSWORD, serve, type TestApp, testApp } from '../support/app.js';

describe('integrations: API tokens, bearer form posts and the authentik-compatible API', function () {
  this.timeout(30_000);
  let t: TestApp;
  let server: Awaited<ReturnType<typeof serve>>;
  let adminKey: string;
  let memberKey: string;
  let adminId: number;

  async function tokenFor(userId: number, identifier: string, expires: Date | null = null) {
    const owner = (await t.db('users').where({ id: userId }).first())!;
    const result = await createToken(
      t.db,
      { identifier, description: '', ownerId: userId, expires },
      { id: owner.id, username: owner.username, email: owner.email },
    );
    if (!result.ok) throw new Error('token');
    return result.key;
  }

  const post = (path: string, fields: Record<string, string>, key?: string, accept = 'application/json') =>
    fetch(`${server.baseUrl}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: accept, ...(key ? { Authorization: `Bearer ${key}` } : {}) },
      body: new URLSearchParams(fields),
    });

  beforeEach(async () => {
    t = await testApp();
    server = await serve(t.app);
    adminId = await createUser(t.db, { username: 'akadmin', admin: true });
    const memberId = await createUser(t.db, { username: 'member' });
    adminKey = await tokenFor(adminId, 'admin-token');
    memberKey = await tokenFor(memberId, 'member-token');
  });
  afterEach(async () => {
    await server.close();
    await t.close();
  });

  describe('form posts with a bearer token', () => {
    it('creates a user: 201 with Location, no CSRF token needed', async () => {
      const res = await post('/directory/users', { username: 'robot-made', path: 'users/imported', name: 'Made by a script' }, adminKey);
      expect(res.status).to.equal(201);
      const id = (await t.db('users').where({ username: 'robot-made' }).first())!.id;
      expect(res.headers.get('location')).to.equal(`/directory/users/${id}`);
      expect(await res.json()).to.include({ id, username: 'robot-made' });
      expect(await t.db('sessions').count({ n: '*' }).first()).to.deep.include({ n: 0 });
    });

    it('answers a duplicate username with 422 and the field error as JSON', async () => {
      const res = await post('/directory/users', { username: 'akadmin', path: 'users' }, adminKey);
      expect(res.status).to.equal(422);
      expect((await res.json()).errors.username).to.contain('This username is taken');
    });

    it('accepts multipart form posts too', async () => {
      const form = new FormData();
      form.set('username', 'multipart-user');
      form.set('path', 'users');
      const res = await fetch(`${server.baseUrl}/directory/users`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${adminKey}` },
        body: form,
        redirect: 'manual',
      });
      expect(res.status).to.equal(201);
    });

    it('refuses a missing, unknown, revoked or expired token with 401, and a non-administrator with 403', async () => {
      expect((await post('/directory/users', { username: 'x', path: 'users' })).status).to.equal(401);
      expect((await post('/directory/users', { username: 'x', path: 'users' }, 'rst_nonsense')).status).to.equal(401);
      const revoked = await tokenFor(adminId, 'revoked');
      await t.db('api_tokens').where({ identifier: 'revoked' }).update({ revoked: new Date() });
      const revokedRes = await post('/directory/users', { username: 'x', path: 'users' }, revoked);
      expect(revokedRes.status).to.equal(401);
      expect((await revokedRes.json()).detail).to.contain('revoked');
      const expired = await tokenFor(adminId, 'expired', new Date(Date.now() - 1000));
      expect((await post('/directory/users', { username: 'x', path: 'users' }, expired)).status).to.equal(401);
      const forbidden = await post('/directory/users', { username: 'x', path: 'users' }, memberKey);
      expect(forbidden.status).to.equal(403);
      expect(await t.db('users').where({ username: 'x' }).first()).to.equal(undefined);
      expect(await t.db('events').where({ action: 'suspicious_request' }).count({ n: '*' }).first()).to.deep.include({ n: 3 });
    });

    it('answers other actions with 303 and a Location', async () => {
      const id = await createUser(t.db, { username: 'to-deactivate' });
      const res = await post(`/directory/users/${id}/activation`, { is_active: 'false' }, adminKey, 'text/html');
      expect(res.status).to.equal(303);
      expect(Boolean((await t.db('users').where({ id }).first())!.is_active)).to.equal(false);
    });
  });

  describe('Directory > Tokens', () => {
    let admin: TestAgent;
    beforeEach(async () => {
      admin = agentFor(t.app);
      await login(admin, 'akadmin');
    });

    it('creates a token shown once (only its hash is stored), then revokes and deletes it', async () => {
      const form = await admin.get('/directory/tokens/new');
      const res = await admin
        .post('/directory/tokens')
        .type('form')
        .send({ _csrf: csrfFrom(form.text), identifier: 'hr-sync', description: 'Nightly import', owner: 'akadmin', expires_in: '30' });
      expect(res.status).to.equal(201);
      const key = /id="api-key" value="(rst_[\w-]+)"/.exec(res.text)![1];
      expect(JSON.stringify(await t.db('api_tokens').select())).to.not.contain(key);
      expect((await post('/directory/users', { username: 'via-new-token', path: 'users' }, key)).status).to.equal(201);
      const row = (await t.db('api_tokens').where({ identifier: 'hr-sync' }).first())!;
      expect(row.last_used).to.not.equal(null);
      expect((await admin.get('/directory/tokens')).text)
        .to.contain('hr-sync')
        .and.contain('Nightly import');
      await admin
        .post('/directory/tokens/revoke')
        .type('form')
        .send({ _csrf: await csrfOf(admin), ids: String(row.id) });
      expect((await post('/directory/users', { username: 'after-revoke', path: 'users' }, key)).status).to.equal(401);
      await admin
        .post('/directory/tokens/delete')
        .type('form')
        .send({ _csrf: await csrfOf(admin), ids: String(row.id) });
      expect(await t.db('api_tokens').where({ id: row.id }).first()).to.equal(undefined);
    });

    it('refuses a bad identifier or an unknown owner with 422', async () => {
      const res = await admin
        .post('/directory/tokens')
        .type('form')
        .send({ _csrf: await csrfOf(admin), identifier: 'bad id!', owner: 'nobody', expires_in: '30' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('id="identifier-error"').and.contain('There is no user named');
    });
  });

  describe('/api/v3 through @goauthentik/api', () => {
    let api: CoreApi;
    beforeEach(() => {
      api = new CoreApi(new Configuration({ basePath: `${server.baseUrl}/api/v3`, accessToken: adminKey }));
    });

    it('creates, lists with filters and pages, updates, gives a recovery link, sets a password and deletes', async () => {
      const created = await api.coreUsersCreate({
        userRequest: {
          username: 'api-user',
          name: 'API User',
          email: 'api@example.com',
          path: 'users/api',
          attributes: { team: 'blue' },
          isActive: true,
        },
      });
      expect(created.pk).to.be.a('number');
      expect(created.dateJoined).to.be.instanceOf(Date);
      expect(created.attributes).to.deep.equal({ team: 'blue' });
      for (let i = 0; i < 5; i++)
        await api.coreUsersCreate({ userRequest: { username: `bulk-${i}`, name: `Bulk ${i}`, path: 'users/api/bulk' } });

      const byPath = await api.coreUsersList({ pathStartswith: 'users/api', pageSize: 4, ordering: 'username' });
      expect(byPath.pagination.count).to.equal(6);
      expect(byPath.pagination.totalPages).to.equal(2);
      expect(byPath.results.map((u) => u.username)).to.deep.equal(['api-user', 'bulk-0', 'bulk-1', 'bulk-2']);
      const second = await api.coreUsersList({ pathStartswith: 'users/api', pageSize: 4, page: 2, ordering: 'username' });
      expect(second.results.map((u) => u.username)).to.deep.equal(['bulk-3', 'bulk-4']);
      expect((await api.coreUsersList({ search: 'API' })).results.map((u) => u.username)).to.deep.equal(['api-user']);
      expect((await api.coreUsersList({ username: 'bulk-2' })).results).to.have.length(1);
      expect((await api.coreUsersPathsRetrieve({})).paths).to.include('users/api/bulk');

      const patched = await api.coreUsersPartialUpdate({ id: created.pk, patchedUserRequest: { name: 'Renamed' } });
      expect(patched.name).to.equal('Renamed');
      expect(patched.email).to.equal('api@example.com');
      expect((await api.coreUsersRetrieve({ id: created.pk })).name).to.equal('Renamed');

      const { link } = await api.coreUsersRecoveryCreate({ id: created.pk });
      expect(link).to.match(/\/recovery\/[\w-]{43}$/);
      await api.coreUsersSetPasswordCreate({ id: created.pk, userPasswordSetRequest: { password: 'set through the API' } });
      expect((await login(agentFor(t.app), 'api-user', 'set through the API')).status).to.equal(303);

      await api.coreUsersDestroy({ id: created.pk });
      expect(await t.db('users').where({ id: created.pk }).first()).to.equal(undefined);
    });

    it('returns validation errors in the shape the client expects', async () => {
      try {
        await api.coreUsersCreate({ userRequest: { username: 'akadmin', name: 'Again' } });
        expect.fail('should be refused');
      } catch (err) {
        expect(err).to.be.instanceOf(ResponseError);
        const response = (err as ResponseError).response;
        expect(response.status).to.equal(400);
        expect(await response.json()).to.deep.equal({ username: ['This username is taken (usernames are unique across all folders)'] });
      }
    });

    it('lists and retrieves groups, and lists and ends sessions', async () => {
      const groupId = await ensureGroup(t.db, 'Engineering', false);
      await addMember(t.db, groupId, adminId);
      const groups = await api.coreGroupsList({});
      expect(groups.results.map((g) => g.name)).to.include('Engineering');
      const eng = groups.results.find((g) => g.name === 'Engineering')!;
      expect((await api.coreGroupsRetrieve({ groupUuid: eng.pk })).users).to.deep.equal([adminId]);
      const me = (await api.coreUsersList({ username: 'akadmin' })).results[0];
      expect(me.isSuperuser).to.equal(true);
      expect(me.groupsObj!.map((g) => g.name).sort()).to.deep.equal(['Admins', 'Engineering']);

      const browser = agentFor(t.app);
      await login(browser, 'akadmin', PASSWORD);
      const sessions = await api.coreAuthenticatedSessionsList({});
      expect(sessions.results).to.have.length(1);
      await api.coreAuthenticatedSessionsDestroy({ uuid: sessions.results[0].uuid! });
      expect((await browser.get('/me')).status).to.equal(303);
    });

    it('lists groups by name, exact or by prefix, a page at a time, in as many queries for one group as for thirty', async () => {
      for (let i = 0; i < 30; i++) await ensureGroup(t.db, `team-${String(i).padStart(2, '0')}`, false);
      const byPrefix = await api.coreGroupsList({ search: 'team-1', pageSize: 4, page: 2, ordering: 'name' });
      expect(byPrefix.pagination.count).to.equal(10);
      expect(byPrefix.results.map((g) => g.name)).to.deep.equal(['team-14', 'team-15', 'team-16', 'team-17']);
      expect((await api.coreGroupsList({ name: 'team-07' })).results.map((g) => g.numPk)).to.have.length(1);
      expect((await api.coreUsersPathsRetrieve({ search: 'us' })).paths).to.deep.equal(['users']);
      const queries = async (pageSize: number) => {
        let n = 0;
        const count = () => {
          n++;
        };
        t.db.on('query', count);
        try {
          await api.coreGroupsList({ search: 'team-', pageSize });
        } finally {
          t.db.off('query', count);
        }
        return n;
      };
      await queries(1);
      expect(await queries(30)).to.equal(await queries(1));
    });

    it('locks an account down (coreUsersAccountLockdownCreate): session, API token and password gone, the event says so', async () => {
      const victimId = await createUser(t.db, { username: 'stolen-laptop' });
      const victimKey = await tokenFor(victimId, 'victim-token');
      const victim = agentFor(t.app);
      await login(victim, 'stolen-laptop');
      expect((await victim.get('/me')).status).to.equal(200);

      const { link } = await api.coreUsersAccountLockdownCreate({ userAccountLockdownRequest: { user: victimId } });
      expect(link).to.equal(`${t.config.publicUrl}/directory/users/${victimId}`);
      const user = (await t.db('users').where({ id: victimId }).first())!;
      expect(Boolean(user.is_active)).to.equal(false);
      expect(user.password).to.equal(null);
      expect((await victim.get('/me')).status, 'the old cookie').to.be.oneOf([302, 303]);
      expect((await post('/directory/users', { username: 'x', path: 'users' }, victimKey)).status, 'the API token').to.equal(401);
      const [event] = await t.db('events').where({ action: 'user_lockdown' });
      expect(JSON.parse(event.context)).to.deep.include({ reason: 'Account lockdown through the API' });

      // Again: nothing left to take away. Unknown users, bad ids, no user, oneself: refused.
      const refused = async (request: object) => {
        try {
          await api.coreUsersAccountLockdownCreate({ userAccountLockdownRequest: request as never });
          expect.fail('should be refused');
        } catch (err) {
          return (err as ResponseError).response.status;
        }
      };
      expect(await refused({ user: victimId })).to.equal(400);
      expect(await refused({ user: 999_999 })).to.equal(404);
      expect(await refused({ user: -1 })).to.equal(400);
      expect(await refused({})).to.equal(400);
      expect(await refused({ user: adminId })).to.equal(400);
      expect(await t.db('events').where({ action: 'user_lockdown' })).to.have.length(1);
    });

    it("refuses a non-administrator's token with 403 and no token with 401", async () => {
      const memberApi = new CoreApi(new Configuration({ basePath: `${server.baseUrl}/api/v3`, accessToken: memberKey }));
      for (const [client, status] of [
        [memberApi, 403],
        [new CoreApi(new Configuration({ basePath: `${server.baseUrl}/api/v3` })), 401],
      ] as const) {
        try {
          await client.coreUsersList({});
          expect.fail('should be refused');
        } catch (err) {
          expect((err as ResponseError).response.status).to.equal(status);
        }
      }
    });
  });
});
