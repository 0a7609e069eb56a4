import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { addMember, ensureGroup } from '../../app/directory/groups/groups.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import type { EventAction } from '../../app/events/events.js';
import { agentFor, createUser, csrfFrom, csrfOf, login, type TestApp, testApp } from '../support/app.js';

/**
 * Double-submits and several administrators acting on the same rows at once (MariaDB runs the
 * requests in parallel transactions; SQLite one after another): never a 5xx, every effect and every
 * event once.
 */
describe('parallel writes to the same rows', function () {
  this.timeout(60_000);
  let t: TestApp;
  let admin: TestAgent;
  let adminId: number;
  let csrf: string;

  beforeEach(async () => {
    t = await testApp({ PUBLIC_URL: 'http://id.example.com' });
    adminId = await createUser(t.db, { username: 'akadmin', admin: true });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
    csrf = await csrfOf(admin);
  });
  afterEach(() => t.close());

  /** The same form posted `times` times at once by the signed-in administrator. */
  function postAtOnce(url: string, fields: Record<string, string | string[]>, times = 2) {
    return Promise.all(
      Array.from({ length: times }, () =>
        admin
          .post(url)
          .type('form')
          .send({ _csrf: csrf, ...fields }),
      ),
    );
  }
  const statuses = (responses: { status: number }[]) => responses.map((r) => r.status).sort();
  const count = async (
    table: 'users' | 'groups' | 'group_memberships' | 'sessions' | 'recovery_tokens' | 'api_tokens' | 'applications',
    where: Record<string, unknown> = {},
  ) => Number((await t.db(table).where(where).count({ n: '*' }).first())!.n);
  const events = async (action: EventAction) => (await t.db('events').where({ action })).map((e) => JSON.parse(e.context));

  it('creating the same username twice at once: one 303, one 422 on the field, one user and one event', async () => {
    const responses = await postAtOnce('/directory/users', { username: 'twin', path: 'users' });
    expect(statuses(responses)).to.deep.equal([303, 422]);
    expect(responses.find((r) => r.status === 422)!.text).to.contain('This username is taken');
    expect(await count('users', { username: 'twin' })).to.equal(1);
    expect(await events('model_created')).to.have.length(1);
  });

  it('the same edit twice at once: saved once, one model_updated event', async () => {
    const id = await createUser(t.db, { username: 'ana', name: 'Ana' });
    const responses = await postAtOnce(`/directory/users/${id}`, { username: 'ana', name: 'Ana Müller', path: 'users' });
    expect(statuses(responses)).to.deep.equal([303, 303]);
    expect((await t.db('users').where({ id }).first())!.name).to.equal('Ana Müller');
    expect((await events('model_updated')).map((e) => e.changed)).to.deep.equal([['name']]);
  });

  it('renaming two users to the same free name at once: one saved, one 422 on the field', async () => {
    const ids = [await createUser(t.db, { username: 'ana' }), await createUser(t.db, { username: 'ben' })];
    const responses = await Promise.all(
      ids.map((id) => admin.post(`/directory/users/${id}`).type('form').send({ _csrf: csrf, username: 'cleo', path: 'users' })),
    );
    expect(statuses(responses)).to.deep.equal([303, 422]);
    expect(await count('users', { username: 'cleo' })).to.equal(1);
  });

  it('deactivating twice at once, then activating twice at once: one event each way', async () => {
    const id = await createUser(t.db, { username: 'ana' });
    await login(agentFor(t.app), 'ana');
    expect(statuses(await postAtOnce(`/directory/users/${id}/activation`, { is_active: 'false' }))).to.deep.equal([303, 303]);
    expect(await count('sessions', { user_id: id })).to.equal(0);
    expect(statuses(await postAtOnce(`/directory/users/${id}/activation`, { is_active: 'true' }))).to.deep.equal([303, 303]);
    expect((await events('model_updated')).map((e) => e.is_active)).to.deep.equal([false, true]);
  });

  it('two administrators deactivating each other at once: one is refused, an active administrator remains', async () => {
    const otherId = await createUser(t.db, { username: 'boss2', admin: true });
    const other = agentFor(t.app);
    await login(other, 'boss2');
    const responses = await Promise.all([
      admin.post(`/directory/users/${otherId}/activation`).type('form').send({ _csrf: csrf, is_active: 'false' }),
      other
        .post(`/directory/users/${adminId}/activation`)
        .type('form')
        .send({ _csrf: await csrfOf(other), is_active: 'false' }),
    ]);
    // The later request is refused (422), or finds its sender signed out: either way one stays.
    for (const res of responses) expect(res.status).to.be.below(500);
    expect(await count('users', { is_active: true })).to.equal(1);
  });

  it('twenty "Copy recovery link" at once for one user: every one a link, only the last issued works', async () => {
    const id = await createUser(t.db, { username: 'ana' });
    // As the modal sends it (with htmx), which answers with the link itself.
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        admin
          .post(`/directory/users/${id}/recovery-link`)
          .set({ 'HX-Request': 'true', 'HX-Target': 'div#modal' })
          .type('form')
          .send({ _csrf: csrf }),
      ),
    );
    expect(statuses(responses)).to.deep.equal(Array(20).fill(200));
    const tokens = responses.map((r) => /\/recovery\/([\w-]{43})"/.exec(r.text)![1]);
    expect(new Set(tokens).size).to.equal(20);
    const working = [];
    for (const token of tokens) if ((await agentFor(t.app).get(`/recovery/${token}`)).status === 200) working.push(token);
    expect(working).to.have.length(1);
    expect(await count('recovery_tokens', { user_id: id })).to.equal(1);
    expect(await events('secret_view')).to.have.length(20);
  });

  it('a double-click on "Copy recovery link" without JavaScript: both redirect, and the page after shows a link only if it works', async () => {
    const id = await createUser(t.db, { username: 'ana' });
    const responses = await postAtOnce(`/directory/users/${id}/recovery-link`, {});
    expect(statuses(responses)).to.deep.equal([303, 303]);
    expect(await count('recovery_tokens', { user_id: id })).to.equal(1);
    // The session keeps whichever link was saved last: shown only if it is the one that works.
    const shown = await admin.get(responses[1].headers.location);
    const token = /\/recovery\/([\w-]{43})"/.exec(shown.text)?.[1];
    if (token) expect((await agentFor(t.app).get(`/recovery/${token}`)).status).to.equal(200);
    else expect(shown.text).to.contain('this one no longer works');
  });

  it('a double-click on "Copy recovery link" through the API: two links, the last one works', async () => {
    const id = await createUser(t.db, { username: 'ana' });
    const owner = { id: adminId, username: 'akadmin', email: '' };
    const created = await createToken(t.db, { identifier: 'robot', description: '', ownerId: adminId, expires: null }, owner);
    if (!created.ok) throw new Error('token');
    const responses = await Promise.all(
      [1, 2].map(() => agentFor(t.app).post(`/api/v3/core/users/${id}/recovery/`).set('Authorization', `Bearer ${created.key}`)),
    );
    expect(statuses(responses)).to.deep.equal([200, 200]);
    expect(await count('recovery_tokens', { user_id: id })).to.equal(1);
  });

  it('making new recovery codes eight times at once: no 5xx, one set of ten codes works', async () => {
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => admin.post('/me/authenticators/static').type('form').send({ _csrf: csrf })),
    );
    expect(statuses(responses)).to.deep.equal(Array(8).fill(200));
    expect(Number((await t.db('authenticators').where({ user_id: adminId, type: 'static' }).count({ n: '*' }).first())!.n)).to.equal(1);
    expect(Number((await t.db('recovery_codes').count({ n: '*' }).first())!.n)).to.equal(10);
  });

  it('setting a password twice at once: no 5xx, the password works', async () => {
    const id = await createUser(t.db, { username: 'ana' });
    const password = 'a brand new passphrase';
    expect(statuses(await postAtOnce(`/directory/users/${id}/password`, { password, password_repeat: password }))).to.deep.equal([
      303, 303,
    ]);
    expect((await login(agentFor(t.app), 'ana', password)).status).to.equal(303);
  });

  it('creating the same group twice at once: one 303, one 422 on the field', async () => {
    const responses = await postAtOnce('/directory/groups', { name: 'Engineering' });
    expect(statuses(responses)).to.deep.equal([303, 422]);
    expect(responses.find((r) => r.status === 422)!.text).to.contain('A group with this name exists already');
    expect(await count('groups', { name: 'Engineering' })).to.equal(1);
    expect(await events('model_created')).to.have.length(1);
  });

  it('the same group edit twice at once: saved once, one model_updated event', async () => {
    const id = await ensureGroup(t.db, 'Engineering', false);
    expect(statuses(await postAtOnce(`/directory/groups/${id}`, { name: 'Engineers', attributes: '{}' }))).to.deep.equal([303, 303]);
    expect((await events('model_updated')).map((e) => e.changed)).to.deep.equal([['name']]);
  });

  it('adding the same member twice at once: one membership, one event', async () => {
    const id = await createUser(t.db, { username: 'ana' });
    await ensureGroup(t.db, 'Engineering', false);
    expect(statuses(await postAtOnce(`/directory/users/${id}/groups`, { group: 'Engineering' }))).to.deep.equal([303, 303]);
    expect(await count('group_memberships', { user_id: id })).to.equal(1);
    expect((await events('model_updated')).filter((e) => e.added_user === 'ana')).to.have.length(1);
  });

  it('three administrators deleting the same 200 users at once: 200 users gone, 200 events', async () => {
    const group = await ensureGroup(t.db, 'Staff', false);
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) ids.push(await createUser(t.db, { username: `u${String(i).padStart(3, '0')}`, password: null }));
    for (const id of ids.slice(0, 50)) await addMember(t.db, group, id);
    const others = [admin];
    for (const name of ['boss2', 'boss3']) {
      await createUser(t.db, { username: name, admin: true });
      const agent = agentFor(t.app);
      await login(agent, name);
      others.push(agent);
    }
    const responses = await Promise.all(
      others.map(async (agent) =>
        agent
          .post('/directory/users/delete')
          .type('form')
          .send({ _csrf: await csrfOf(agent), ids: ids.map(String) }),
      ),
    );
    for (const res of responses) expect(res.status).to.be.below(500);
    expect(await count('users')).to.equal(3);
    const deleted = (await events('model_deleted')).map((e) => e.deleted_user.pk);
    expect(deleted.sort((a, b) => a - b)).to.deep.equal(ids);
  });

  describe('bulk actions on the same users at once', () => {
    let ids: string[];
    beforeEach(async () => {
      ids = [];
      for (let i = 0; i < 60; i++) ids.push(String(await createUser(t.db, { username: `b${String(i).padStart(2, '0')}`, password: null })));
    });
    /** Each user's events of the action: every one acted on exactly once. */
    const perUser = async (action: EventAction, key: (context: Record<string, unknown>) => unknown) =>
      (await events(action)).map(key).sort();
    const everyone = () => ids.map((_, i) => `b${String(i).padStart(2, '0')}`).sort();

    it('deactivating them three times at once: each once, one event each, the rest skipped', async () => {
      const responses = await postAtOnce('/directory/users/deactivate', { ids }, 3);
      expect(statuses(responses)).to.deep.equal([200, 200, 200]);
      expect(await count('users', { is_active: false })).to.equal(60);
      expect(await perUser('model_updated', (c) => (c.model as { name: string }).name)).to.deep.equal(everyone());
      const done = responses.map((r) => Number(/(\d+) done, (\d+) skipped/.exec(r.text)![1]));
      expect(done.reduce((a, b) => a + b)).to.equal(60);
    });

    it('locking them down three times at once: one user_lockdown event each', async () => {
      for (const res of await postAtOnce('/directory/users/lockdown', { ids, reason: 'incident 7' }, 3)) expect(res.status).to.equal(200);
      expect(await perUser('user_lockdown', (c) => (c.model as { name: string }).name)).to.deep.equal(everyone());
    });

    it('adding them to a group three times at once: one membership and one event each', async () => {
      const group = await ensureGroup(t.db, 'Engineering', false);
      for (const res of await postAtOnce('/directory/users/add-to-group', { ids, group: 'Engineering' }, 3))
        expect(res.status).to.equal(200);
      expect(await count('group_memberships', { group_id: group })).to.equal(60);
      expect(await perUser('model_updated', (c) => c.added_user)).to.deep.equal(everyone());
    });

    it('moving them twice at once, then deactivating all of their folder twice at once: each once', async () => {
      for (const res of await postAtOnce('/directory/users/move', { ids, path: 'moved' }, 2)) expect(res.status).to.equal(200);
      expect(await perUser('model_updated', (c) => (c.model as { name: string }).name)).to.deep.equal(everyone());
      // The second request may find nobody left in the list (active users only): 422, nothing to do.
      for (const res of await postAtOnce('/directory/users/deactivate', { all: '1', filter: 'path=moved' }, 2))
        expect(res.status).to.be.below(500);
      expect(await count('users', { is_active: false })).to.equal(60);
      expect((await events('model_updated')).filter((c) => c.is_active === false)).to.have.length(60);
    });
  });

  it('deleting the same groups twice at once: one event per group', async () => {
    const ids = [await ensureGroup(t.db, 'One', false), await ensureGroup(t.db, 'Two', false)];
    for (const res of await postAtOnce('/directory/groups/delete', { ids: ids.map(String) }, 3)) expect(res.status).to.be.below(500);
    expect(await count('groups')).to.equal(1);
    expect(await events('model_deleted')).to.have.length(2);
  });

  it('removing the same memberships twice at once: one event per membership', async () => {
    const id = await createUser(t.db, { username: 'ana' });
    const groups = [await ensureGroup(t.db, 'One', false), await ensureGroup(t.db, 'Two', false)];
    for (const group of groups) await addMember(t.db, group, id);
    for (const res of await postAtOnce(`/directory/users/${id}/groups/remove`, { ids: groups.map(String) }, 3))
      expect(res.status).to.be.below(500);
    expect(await count('group_memberships', { user_id: id })).to.equal(0);
    expect((await events('model_updated')).filter((e) => e.removed_user === 'ana')).to.have.length(2);
  });

  it('ending the same sessions twice at once: one event, counting the sessions ended', async () => {
    const id = await createUser(t.db, { username: 'ana' });
    for (let i = 0; i < 3; i++) await login(agentFor(t.app), 'ana');
    const sids = (await t.db('sessions').where({ user_id: id }).pluck('id')).map(String);
    for (const res of await postAtOnce(`/directory/users/${id}/sessions/delete`, { ids: sids }, 3)) expect(res.status).to.be.below(500);
    expect(await count('sessions', { user_id: id })).to.equal(0);
    expect((await events('model_deleted')).map((e) => e.count)).to.deep.equal([3]);
  });

  it('ending one session twice at once through the API: one 204, one 404', async () => {
    const id = await createUser(t.db, { username: 'ana' });
    await login(agentFor(t.app), 'ana');
    const sid = (await t.db('sessions').where({ user_id: id }).first())!.id;
    const created = await createToken(
      t.db,
      { identifier: 'robot', description: '', ownerId: adminId, expires: null },
      { id: adminId, username: 'akadmin', email: '' },
    );
    if (!created.ok) throw new Error('token');
    const responses = await Promise.all(
      [1, 2].map(() => agentFor(t.app).delete(`/api/v3/core/authenticated_sessions/${sid}/`).set('Authorization', `Bearer ${created.key}`)),
    );
    expect(statuses(responses)).to.deep.equal([204, 404]);
  });

  it('creating the same API token twice at once: one 201, one 422 on the field; revoking and deleting twice at once: no 5xx', async () => {
    const responses = await postAtOnce('/directory/tokens', { identifier: 'robot', owner: 'akadmin', expires_in: '90' });
    expect(statuses(responses)).to.deep.equal([201, 422]);
    expect(responses.find((r) => r.status === 422)!.text).to.contain('Another token has this identifier');
    const id = (await t.db('api_tokens').where({ identifier: 'robot' }).first())!.id;
    for (const res of await postAtOnce('/directory/tokens/revoke', { ids: String(id) }, 3)) expect(res.status).to.be.below(500);
    for (const res of await postAtOnce('/directory/tokens/delete', { ids: String(id) }, 3)) expect(res.status).to.be.below(500);
    expect(await count('api_tokens')).to.equal(0);
  });

  it('deleting the same applications twice at once: one event per application', async () => {
    const form = await admin.get('/applications/new');
    const created = await admin
      .post('/applications')
      .type('form')
      .send({
        _csrf: csrfFrom(form.text),
        name: 'Wiki',
        slug: 'wiki',
        redirect_uris: 'https://wiki.example.com/cb',
        consent_mode: 'explicit',
      });
    expect(created.status).to.equal(201);
    const id = (await t.db('applications').first())!.id;
    for (const res of await postAtOnce('/applications/delete', { ids: String(id) }, 3)) expect(res.status).to.be.below(500);
    expect(await count('applications')).to.equal(0);
    expect(await events('model_deleted')).to.have.length(1);
  });
});
