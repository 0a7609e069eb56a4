import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { addMember, ensureGroup } from '../../app/directory/groups/groups.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { fieldsOf, findById, updateUser } from '../../app/directory/users/users.js';
import type { EventAction } from '../../app/events/events.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

/**
 * Every deletion or revocation leaves one event, recorded by the model function that made it, with
 * the actor and what went: whether it came from a page, a program's form post or /api/v3, and however
 * often it was submitted. And the rules on deactivation hold on every path.
 */
describe('writes and their events', function () {
  this.timeout(60_000);
  let t: TestApp;
  let admin: TestAgent;
  let adminId: number;
  let anaId: number;
  let csrf: string;
  let adminKey: string;

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', email: 'admin@example.com', admin: true });
    anaId = await createUser(t.db, { username: 'ana' });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
    csrf = await csrfOf(admin);
    adminKey = await keyFor(adminId, 'admin-robot');
  });
  afterEach(() => t.close());

  async function keyFor(userId: number, identifier: string): Promise<string> {
    const owner = (await findById(t.db, userId))!;
    const created = await createToken(t.db, { identifier, description: '', ownerId: userId, expires: null }, owner);
    if (!created.ok) throw new Error('token');
    return created.key;
  }

  /** The same form posted twice at once by the signed-in administrator: a double submit. */
  function doubleSubmit(url: string, fields: Record<string, string | string[]>) {
    return Promise.all(
      [1, 2].map(() =>
        admin
          .post(url)
          .type('form')
          .send({ _csrf: csrf, ...fields }),
      ),
    );
  }
  const statuses = (responses: { status: number }[]) => responses.map((r) => r.status).sort();
  /** A double submit went through: the first acted (303); the second too, or found nothing left (422). */
  const done = (responses: { status: number }[]) => {
    expect(statuses(responses)[0]).to.equal(303);
    for (const res of responses) expect(res.status).to.be.oneOf([303, 422]);
  };
  const events = async (action: EventAction) =>
    (await t.db('events').where({ action }).orderBy('id')).map((e) => ({ userPk: e.user_pk, app: e.app, context: JSON.parse(e.context) }));
  /** The events of an action but those the set-up recorded (the tokens' model_created). */
  const only = async (action: EventAction, modelName: string) =>
    (await events(action)).filter((e) => e.context.model?.model_name === modelName);

  describe('each deletion or revocation: one event with the actor and what went', () => {
    it('sessions ended in the Sessions tab', async () => {
      for (let i = 0; i < 2; i++) await login(agentFor(t.app), 'ana');
      const ids = (await t.db('sessions').where({ user_id: anaId }).pluck('id')).map(String);
      done(await doubleSubmit(`/directory/users/${anaId}/sessions/delete`, { ids }));
      expect(await t.db('sessions').where({ user_id: anaId }).first()).to.equal(undefined);
      const recorded = await only('model_deleted', 'authenticated_session');
      expect(recorded).to.have.length(1);
      expect(recorded[0]).to.deep.include({ userPk: adminId, app: 'roster.directory' });
      expect(recorded[0].context).to.deep.include({ user: 'ana', count: 2 });
    });

    it('sessions ended by a program posting the same form with a bearer token', async () => {
      await login(agentFor(t.app), 'ana');
      const ids = (await t.db('sessions').where({ user_id: anaId }).pluck('id')).map(String);
      const res = await agentFor(t.app)
        .post(`/directory/users/${anaId}/sessions/delete`)
        .set('Authorization', `Bearer ${adminKey}`)
        .type('form')
        .send({ ids });
      expect(res.status).to.equal(303);
      const recorded = await only('model_deleted', 'authenticated_session');
      expect(recorded).to.have.length(1);
      expect(recorded[0].userPk).to.equal(adminId);
      expect(recorded[0].context).to.deep.include({ user: 'ana', count: 1 });
    });

    it('a session ended through /api/v3 (twice at once: 204 and 404)', async () => {
      await login(agentFor(t.app), 'ana');
      const id = (await t.db('sessions').where({ user_id: anaId }).first())!.id;
      const responses = await Promise.all(
        [1, 2].map(() => agentFor(t.app).delete(`/api/v3/core/authenticated_sessions/${id}/`).set('Authorization', `Bearer ${adminKey}`)),
      );
      expect(statuses(responses)).to.deep.equal([204, 404]);
      expect(await t.db('sessions').where({ id }).first()).to.equal(undefined);
      const recorded = await only('model_deleted', 'authenticated_session');
      expect(recorded).to.have.length(1);
      expect(recorded[0]).to.deep.include({ userPk: adminId, app: 'roster.directory' });
      expect(recorded[0].context).to.deep.include({ user: 'ana', count: 1 });
    });

    it('an unknown session through /api/v3: 404 and no event', async () => {
      expect(
        (await agentFor(t.app).delete('/api/v3/core/authenticated_sessions/999999/').set('Authorization', `Bearer ${adminKey}`)).status,
      ).to.equal(404);
      expect(await only('model_deleted', 'authenticated_session')).to.have.length(0);
    });

    describe('OAuth', () => {
      let appId: number;
      beforeEach(async () => {
        const now = new Date();
        [appId] = await t.db('applications').insert({
          name: 'Wiki',
          slug: 'wiki',
          client_id: 'wiki-client',
          client_secret_hash: 'x'.repeat(64),
          redirect_uris: 'https://wiki.example.com/cb',
          consent_mode: 'explicit',
          created: now,
          last_updated: now,
        });
        appId = Number(appId);
      });

      it('consents', async () => {
        const now = new Date();
        await t
          .db('oauth_artifacts')
          .insert({ id: 'grant-1', kind: 'Grant', payload: '{}', user_id: anaId, application_id: appId, created: now });
        const [id] = await t.db('consents').insert({
          user_id: anaId,
          application_id: appId,
          grant_id: 'grant-1',
          scopes: 'openid email',
          created: now,
          expires: new Date(now.getTime() + 86_400_000),
        });
        done(await doubleSubmit(`/directory/users/${anaId}/consents/delete`, { ids: String(id) }));
        expect(await t.db('consents').first()).to.equal(undefined);
        expect(await t.db('oauth_artifacts').where({ kind: 'Grant' }).first()).to.equal(undefined);
        const recorded = await only('model_deleted', 'consent');
        expect(recorded).to.have.length(1);
        expect(recorded[0]).to.deep.include({ userPk: adminId, app: 'roster.oauth' });
        expect(recorded[0].context).to.deep.include({ user: 'ana', applications: ['Wiki'] });
      });

      it('refresh tokens', async () => {
        const now = new Date();
        await t.db('oauth_artifacts').insert(
          ['rt-1', 'rt-2'].map((id) => ({
            id,
            kind: 'RefreshToken',
            payload: '{"scope":"openid"}',
            user_id: anaId,
            application_id: appId,
            created: now,
          })),
        );
        done(await doubleSubmit(`/directory/users/${anaId}/tokens/delete`, { ids: ['rt-1', 'rt-2'] }));
        expect(await t.db('oauth_artifacts').where({ kind: 'RefreshToken' }).first()).to.equal(undefined);
        const recorded = await only('model_deleted', 'refresh_token');
        expect(recorded).to.have.length(1);
        expect(recorded[0]).to.deep.include({ userPk: adminId, app: 'roster.oauth' });
        expect(recorded[0].context).to.deep.include({ user: 'ana', count: 2 });
      });
    });

    const device = async (userId: number, name: string) =>
      Number(
        (
          await t.db('authenticators').insert({
            user_id: userId,
            type: 'totp',
            name,
            confirmed: true,
            data: '{}',
            created: new Date(),
          })
        )[0],
      );

    it('authenticators removed in the admin tab', async () => {
      const ids = [await device(anaId, 'Phone'), await device(anaId, 'Tablet')];
      done(await doubleSubmit(`/directory/users/${anaId}/authenticators/delete`, { ids: ids.map(String) }));
      expect(await t.db('authenticators').where({ user_id: anaId }).first()).to.equal(undefined);
      const recorded = await only('model_deleted', 'authenticator');
      expect(recorded).to.have.length(1);
      expect(recorded[0]).to.deep.include({ userPk: adminId, app: 'roster.directory' });
      expect(recorded[0].context).to.deep.include({ user: 'ana' });
      expect(recorded[0].context.devices.sort()).to.deep.equal(['Phone', 'Tablet']);
    });

    it('an authenticator removed on /me', async () => {
      const id = await device(adminId, 'Security key');
      done(await doubleSubmit(`/me/authenticators/${id}/delete`, {}));
      expect(await t.db('authenticators').where({ id }).first()).to.equal(undefined);
      const recorded = await only('model_deleted', 'authenticator');
      expect(recorded).to.have.length(1);
      expect(recorded[0]).to.deep.include({ userPk: adminId, app: 'roster.me' });
      expect(recorded[0].context.model).to.include({ pk: id });
      expect(recorded[0].context).to.deep.include({ user: 'akadmin', devices: ['Security key'] });
    });

    it('an authenticator of someone else on /me: nothing removed, no event', async () => {
      const id = await device(anaId, 'Phone');
      await admin.post(`/me/authenticators/${id}/delete`).type('form').send({ _csrf: csrf });
      expect(await t.db('authenticators').where({ id }).first()).to.not.equal(undefined);
      expect(await only('model_deleted', 'authenticator')).to.have.length(0);
    });

    it('memberships removed and added in the Groups tab', async () => {
      const group = await ensureGroup(t.db, 'Engineering', false);
      await addMember(t.db, group, anaId);
      done(await doubleSubmit(`/directory/users/${anaId}/groups/remove`, { ids: String(group) }));
      const removed = (await only('model_updated', 'group')).filter((e) => e.context.removed_user);
      expect(removed).to.have.length(1);
      expect(removed[0]).to.deep.include({ userPk: adminId, app: 'roster.directory' });
      expect(removed[0].context).to.deep.include({ removed_user: 'ana' });
      expect(removed[0].context.model).to.include({ pk: group, name: 'Engineering' });

      done(await doubleSubmit(`/directory/users/${anaId}/groups`, { group: 'Engineering' }));
      const added = (await only('model_updated', 'group')).filter((e) => e.context.added_user);
      expect(added).to.have.length(1);
      expect(added[0].userPk).to.equal(adminId);
      expect(added[0].context).to.deep.include({ added_user: 'ana' });
    });

    it('API tokens revoked, then deleted', async () => {
      const key = await keyFor(anaId, 'hr-sync');
      const id = (await t.db('api_tokens').where({ identifier: 'hr-sync' }).first())!.id;
      done(await doubleSubmit('/directory/tokens/revoke', { ids: String(id) }));
      expect((await agentFor(t.app).get('/api/v3/core/users/').set('Authorization', `Bearer ${key}`)).status).to.equal(401);
      const revoked = await only('model_updated', 'token');
      expect(revoked).to.have.length(1);
      expect(revoked[0]).to.deep.include({ userPk: adminId, app: 'roster.api' });
      expect(revoked[0].context).to.deep.equal({ model: { model_name: 'token', pk: id, name: 'hr-sync' }, changed: ['revoked'] });

      done(await doubleSubmit('/directory/tokens/delete', { ids: String(id) }));
      expect(await t.db('api_tokens').where({ id }).first()).to.equal(undefined);
      const deleted = await only('model_deleted', 'token');
      expect(deleted).to.have.length(1);
      expect(deleted[0]).to.deep.include({ userPk: adminId, app: 'roster.api' });
      expect(deleted[0].context).to.deep.equal({ model: { model_name: 'token', pk: id, name: 'hr-sync' } });
    });

    it('revoking a revoked API token changes nothing and records nothing', async () => {
      await keyFor(anaId, 'old');
      const id = (await t.db('api_tokens').where({ identifier: 'old' }).first())!.id;
      await t.db('api_tokens').where({ id }).update({ revoked: new Date() });
      expect(
        (
          await admin
            .post('/directory/tokens/revoke')
            .type('form')
            .send({ _csrf: csrf, ids: String(id) })
        ).status,
      ).to.equal(303);
      expect(await only('model_updated', 'token')).to.have.length(0);
    });
  });

  describe('deactivation rules, on every path', () => {
    const activeAdmins = async () =>
      Number(
        (await t
          .db('users')
          .join('group_memberships', 'group_memberships.user_id', 'users.id')
          .join('groups', 'groups.id', 'group_memberships.group_id')
          .where('groups.is_superuser', true)
          .where('users.is_active', true)
          .countDistinct({ n: 'users.id' })
          .first())!.n,
      );
    const api = (method: 'put' | 'patch', userId: number, body: object, key = adminKey) =>
      agentFor(t.app)[method](`/api/v3/core/users/${userId}/`).set('Authorization', `Bearer ${key}`).send(body);

    it('nobody deactivates themselves through the edit form: 422 with the message on the field', async () => {
      const res = await admin.post(`/directory/users/${adminId}`).type('form').send({ _csrf: csrf, is_active: 'false', name: 'Renamed' });
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="is_active-error">You cannot deactivate your own account</);
      const row = (await t.db('users').where({ id: adminId }).first())!;
      expect(Boolean(row.is_active)).to.equal(true);
      expect(row.name).to.equal('');
      expect(await events('model_updated')).to.have.length(0);
    });

    it('nobody deactivates themselves through /api/v3: 400 with the field', async () => {
      for (const method of ['patch', 'put'] as const) {
        const res = await api(method, adminId, { username: 'akadmin', is_active: false });
        expect(res.status, method).to.equal(400);
        expect(res.body).to.deep.equal({ is_active: ['You cannot deactivate your own account'] });
      }
      expect(Boolean((await t.db('users').where({ id: adminId }).first())!.is_active)).to.equal(true);
    });

    it('the model refuses to deactivate the last administrator, whoever asks', async () => {
      const last = (await findById(t.db, adminId))!;
      const ana = (await findById(t.db, anaId))!;
      const saved = await updateUser(
        t.db,
        last,
        { ...fieldsOf(last), isActive: false },
        { id: ana.id, username: ana.username, email: ana.email },
      );
      expect(saved).to.deep.include({ ok: false, field: 'is_active' });
      expect((saved as { message: string }).message).to.contain('no active administrator');
      expect(await activeAdmins()).to.equal(1);
      expect(await events('model_updated')).to.have.length(0);
    });

    it('two administrators deactivating each other through the edit form at once: an administrator remains', async () => {
      const otherId = await createUser(t.db, { username: 'boss2', admin: true });
      const other = agentFor(t.app);
      await login(other, 'boss2');
      const responses = await Promise.all([
        admin.post(`/directory/users/${otherId}`).type('form').send({ _csrf: csrf, is_active: 'false' }),
        other
          .post(`/directory/users/${adminId}`)
          .type('form')
          .send({ _csrf: await csrfOf(other), is_active: 'false' }),
      ]);
      // The later one is refused on the field, or finds its sender signed out: either way one stays.
      for (const res of responses) {
        expect(res.status).to.be.below(500);
        if (res.status === 422) expect(res.text).to.match(/id="is_active-error">This would leave no active administrator/);
      }
      expect(await activeAdmins()).to.equal(1);
    });

    it('two administrators deactivating each other through /api/v3 at once: an administrator remains', async () => {
      const otherId = await createUser(t.db, { username: 'boss2', admin: true });
      const otherKey = await keyFor(otherId, 'boss2-robot');
      const responses = await Promise.all([
        api('patch', otherId, { is_active: false }),
        api('patch', adminId, { is_active: false }, otherKey),
      ]);
      for (const res of responses) {
        expect(res.status).to.be.below(500);
        if (res.status === 400) expect(res.body.is_active[0]).to.contain('This would leave no active administrator');
      }
      expect(await activeAdmins()).to.equal(1);
    });
  });
});
