import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { ADMIN_GROUP } from '../../app/auth/bootstrap.js';
import { addMember, ensureGroup } from '../../app/directory/groups/groups.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { removeFromGroup, setActiveOf } from '../../app/directory/users/bulk/writes.js';
import { lockDown } from '../../app/directory/users/lockdown.js';
import { createRecoveryToken } from '../../app/recovery/tokens.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

interface Results {
  done: number;
  skipped: number;
  results: { id: number; label: string; result: 'done' | 'skipped'; reason?: string }[];
}

describe('bulk actions on selected users', function () {
  this.timeout(60_000);
  let t: TestApp;
  let admin: TestAgent;
  let adminId: number;

  async function post(url: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    return admin
      .post(url)
      .type('form')
      .set(headers)
      .send({ _csrf: await csrfOf(admin), ...fields });
  }
  /** The per-row results, as a program asks for them (here with the admin's session). */
  async function act(url: string, fields: Record<string, string | string[]>): Promise<Results> {
    const res = await post(url, fields, { Accept: 'application/json' });
    expect(res.status, res.text).to.equal(200);
    return res.body;
  }
  /** Each result as "label: done" or "label: reason". */
  const outcomes = (results: Results) => results.results.map((r) => `${r.label}: ${r.reason ?? r.result}`);
  const user = async (id: number) => (await t.db('users').where({ id }).first())!;
  const count = async (table: 'sessions' | 'group_memberships' | 'events' | 'users', where: Record<string, unknown>) =>
    Number((await t.db(table).where(where).count({ n: '*' }).first())!.n);
  const contexts = async (action: string) => (await t.db('events').where({ action }).orderBy('id')).map((e) => JSON.parse(e.context));

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', admin: true, path: 'admins' });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
  });
  afterEach(() => t.close());

  describe('deactivate and activate', () => {
    let anaId: number;
    let bobId: number;
    let ana: TestAgent;
    beforeEach(async () => {
      anaId = await createUser(t.db, { username: 'ana', name: 'Ana Müller' });
      bobId = await createUser(t.db, { username: 'bob', isActive: false });
      ana = agentFor(t.app);
      await login(ana, 'ana');
    });

    it('reviews each selected user with what will happen to them', async () => {
      const res = await admin.get(`/directory/users/deactivate?ids=${anaId},${bobId},${adminId}`);
      expect(res.status).to.equal(200);
      expect(res.text)
        .to.contain('Deactivate 3 users?')
        .and.contain('ana (Ana Müller)')
        .and.contain('1 session ends')
        .and.contain('Will be skipped: already deactivated')
        .and.contain('Will be skipped: this is you')
        .and.contain('>Deactivate</button>');
      expect(res.text.match(/name="ids"/g)).to.have.length(3);
    });

    it('deactivates with a result per user: done, already deactivated, this is you, no longer exists', async () => {
      const results = await act('/directory/users/deactivate', { ids: [anaId, bobId, adminId, 999_999].map(String) });
      expect(outcomes(results)).to.deep.equal([
        'ana: done',
        'bob: already deactivated',
        'akadmin: this is you',
        'user #999999: no longer exists',
      ]);
      expect(results).to.include({ done: 1, skipped: 3 });
      expect(Boolean((await user(anaId)).is_active)).to.equal(false);
      expect(Boolean((await user(adminId)).is_active)).to.equal(true);
      expect(await count('sessions', { user_id: anaId })).to.equal(0);
      expect((await ana.get('/me')).status).to.equal(303);
      expect(await contexts('model_updated')).to.deep.equal([
        { model: { app: 'roster.directory', model_name: 'user', pk: anaId, name: 'ana' }, changed: ['is_active'], is_active: false },
      ]);
      // The list's search rows follow: a deactivated user is found only with deactivated users shown.
      expect((await admin.get('/directory/users?q=ana')).text).to.not.contain('>ana</a>');
      expect((await admin.get('/directory/users?q=ana&active=all')).text).to.contain('>ana</a>');
    });

    it('without JavaScript, answers the results as a page with the totals as a toast', async () => {
      const res = await post('/directory/users/deactivate?from=%2Fdirectory%2Fusers%3Fpath%3Dusers', { ids: [anaId, bobId].map(String) });
      expect(res.status).to.equal(200);
      expect(res.text)
        .to.contain('Deactivate 2 users: results')
        .and.contain('1 done, 1 skipped.')
        .and.contain('1 user deactivated; 1 skipped.')
        .and.contain('already deactivated')
        .and.contain('href="/directory/users?path=users">Back</a>');
    });

    it('over htmx, answers the results in the modal and has the list reload', async () => {
      const res = await post('/directory/users/deactivate', { ids: String(anaId) }, { 'HX-Request': 'true', 'HX-Target': 'div#modal' });
      expect(res.status).to.equal(200);
      expect(res.headers['hx-trigger']).to.equal('users-changed');
      expect(res.text)
        .to.match(/^<dialog class="modal"/)
        .and.contain('Deactivate 1 user: results')
        .and.contain('data-close-modal')
        .and.contain('1 user deactivated.');
    });

    it('activates the deactivated ones; the others are already active', async () => {
      const results = await act('/directory/users/activate', { ids: [bobId, anaId].map(String) });
      expect(outcomes(results)).to.deep.equal(['bob: done', 'ana: already active']);
      expect((await login(agentFor(t.app), 'bob')).status).to.equal(303);
      expect((await contexts('model_updated')).map((c) => [c.model.name, c.is_active])).to.deep.equal([['bob', true]]);
    });

    it('answers a program with a bearer token in JSON, or with the results page', async () => {
      const token = await createToken(t.db, { identifier: 'robot', description: '', ownerId: adminId, expires: null }, await user(adminId));
      if (!token.ok) throw new Error('no token');
      const asProgram = (accept: string) =>
        agentFor(t.app)
          .post('/directory/users/deactivate')
          .set('Authorization', `Bearer ${token.key}`)
          .set('Accept', accept)
          .type('form')
          .send({ ids: [String(anaId), String(bobId)] });
      const json = await asProgram('application/json');
      expect(json.status).to.equal(200);
      expect(json.body).to.deep.equal({
        done: 1,
        skipped: 1,
        results: [
          { id: anaId, label: 'ana', result: 'done' },
          { id: bobId, label: 'bob', result: 'skipped', reason: 'already deactivated' },
        ],
      });
      const html = await asProgram('text/html');
      expect(html.status).to.equal(200);
      expect(html.text).to.contain('0 done, 2 skipped.');
    });
  });

  describe('groups', () => {
    let anaId: number;
    let bobId: number;
    let staff: number;
    beforeEach(async () => {
      anaId = await createUser(t.db, { username: 'ana' });
      bobId = await createUser(t.db, { username: 'bob' });
      staff = await ensureGroup(t.db, 'Staff', false);
      await addMember(t.db, staff, anaId);
    });

    it('adds the selected users to a group, by name; members already are skipped', async () => {
      const review = await admin.get(`/directory/users/add-to-group?ids=${anaId},${bobId}&group=Staff`);
      expect(review.text).to.contain('Add 2 users to a group?').and.contain('name="group"').and.contain('value="Staff"');
      const results = await act('/directory/users/add-to-group', { ids: [anaId, bobId].map(String), group: 'Staff' });
      expect(outcomes(results)).to.deep.equal(['ana: already a member', 'bob: done']);
      expect(await count('group_memberships', { group_id: staff })).to.equal(2);
      expect((await contexts('model_updated')).map((c) => c.added_user)).to.deep.equal(['bob']);
    });

    it('refuses a missing or unknown group on the field, keeping the selection and what was typed', async () => {
      const missing = await post('/directory/users/add-to-group', { ids: [String(anaId), String(bobId)] });
      expect(missing.status).to.equal(422);
      expect(missing.text).to.contain('Choose a group').and.contain('aria-invalid="true"');
      expect(missing.text.match(/name="ids"/g)).to.have.length(2);
      const unknown = await post('/directory/users/add-to-group', { ids: String(bobId), group: 'Nobody' });
      expect(unknown.status).to.equal(422);
      expect(unknown.text).to.contain('There is no group named “Nobody”').and.contain('value="Nobody"');
      const json = await post(
        '/directory/users/add-to-group',
        { ids: String(bobId), group: 'constructor' },
        { Accept: 'application/json' },
      );
      expect(json.status).to.equal(422);
      expect(json.body).to.deep.equal({ errors: { group: 'There is no group named “constructor”' } });
      expect(await count('group_memberships', { user_id: bobId })).to.equal(0);
    });

    it('removes the selected users from a group, never the acting administrator, skipping non-members', async () => {
      const rootId = await createUser(t.db, { username: 'root2', admin: true });
      const results = await act('/directory/users/remove-from-group', { ids: [adminId, rootId, bobId].map(String), group: ADMIN_GROUP });
      expect(outcomes(results)).to.deep.equal(['akadmin: this is you', 'root2: done', 'bob: not a member']);
      const admins = await ensureGroup(t.db, ADMIN_GROUP, true);
      expect(await t.db('group_memberships').where({ group_id: admins }).pluck('user_id')).to.deep.equal([adminId]);
      expect((await contexts('model_updated')).map((c) => c.removed_user)).to.deep.equal(['root2']);
    });

    it('never removes or deactivates the last active administrator, whoever acts', async () => {
      // A model function called by something other than the signed-in admin (a scheduler, an API).
      const rootId = await createUser(t.db, { username: 'root2', admin: true });
      const nobody = { id: 0, username: 'system', email: '' };
      const admins = await ensureGroup(t.db, ADMIN_GROUP, true);
      const removed = await removeFromGroup(t.db, [rootId, adminId], { id: admins, name: ADMIN_GROUP }, nobody);
      expect(removed.map((o) => `${o.username}: ${o.skipped ?? 'done'}`)).to.deep.equal([
        'root2: done',
        'akadmin: last active administrator',
      ]);
      const deactivated = await setActiveOf(t.db, [adminId, anaId], false, nobody);
      expect(deactivated.map((o) => `${o.username}: ${o.skipped ?? 'done'}`)).to.deep.equal([
        'akadmin: last active administrator',
        'ana: done',
      ]);
      const lockedDown = await lockDown(t.db, [adminId], 'test', nobody);
      expect(lockedDown[0].skipped).to.equal('last active administrator');
      expect(Boolean((await user(adminId)).is_active)).to.equal(true);
    });
  });

  describe('move', () => {
    it('moves the selected users to a folder, where the list and its search find them', async () => {
      const anaId = await createUser(t.db, { username: 'ana', path: 'users' });
      const bobId = await createUser(t.db, { username: 'bob', path: 'users/new' });
      const results = await act('/directory/users/move', { ids: [anaId, bobId].map(String), path: 'users/new' });
      expect(outcomes(results)).to.deep.equal(['ana: done', 'bob: already in this folder']);
      expect((await user(anaId)).path).to.equal('users/new');
      expect((await contexts('model_updated'))[0]).to.deep.include({ changed: ['path'], path: { from: 'users', to: 'users/new' } });
      expect((await admin.get('/directory/users?path=users/new&q=ana')).text).to.contain('>ana</a>');
      expect((await admin.get('/directory/users?path=users&q=ana')).text).to.contain('>ana</a>');
      expect((await admin.get('/directory/users?path=admins&q=ana')).text).to.not.contain('>ana</a>');
    });

    it('refuses a path the user form refuses, on the field', async () => {
      const anaId = await createUser(t.db, { username: 'ana' });
      for (const [path, message] of [
        ['', 'Enter a path'],
        ['/users/', 'A path cannot start or end with /'],
        ['users//x', 'A path cannot contain an empty segment'],
        ['a\u0000b', 'Remove the control characters'],
        ['x'.repeat(201), 'Use at most 200 characters'],
      ]) {
        const res = await post('/directory/users/move', { ids: String(anaId), path });
        expect(res.status, path).to.equal(422);
        expect(res.text, path).to.contain(message);
      }
      expect((await user(anaId)).path).to.equal('users');
    });
  });

  describe('end sessions', () => {
    it("ends every session of the selected users, but not the acting administrator's", async () => {
      const anaId = await createUser(t.db, { username: 'ana' });
      const bobId = await createUser(t.db, { username: 'bob' });
      const phone = agentFor(t.app);
      const laptop = agentFor(t.app);
      await login(phone, 'ana');
      await login(laptop, 'ana');
      const review = await admin.get(`/directory/users/end-sessions?ids=${anaId},${bobId}`);
      expect(review.text).to.contain('End every session of 2 users?').and.contain('2 sessions end').and.contain('no active sessions');
      const results = await act('/directory/users/end-sessions', { ids: [anaId, bobId, adminId].map(String) });
      expect(outcomes(results)).to.deep.equal(['ana: done', 'bob: no active sessions', 'akadmin: this is you']);
      expect((await phone.get('/me')).status).to.equal(303);
      expect((await laptop.get('/me')).status).to.equal(303);
      expect((await admin.get('/directory/users')).status).to.equal(200);
      expect(await contexts('model_deleted')).to.deep.equal([
        { model: { app: 'roster.directory', model_name: 'authenticated_session', name: '2 of ana' }, user: 'ana', count: 2 },
      ]);
    });
  });

  describe('lockdown', () => {
    let anaId: number;
    beforeEach(async () => {
      anaId = await createUser(t.db, { username: 'ana' });
    });

    it('asks for a reason, on the field', async () => {
      const review = await admin.get(`/directory/users/lockdown?ids=${anaId}`);
      expect(review.text).to.contain('Lock down 1 user?').and.contain('name="reason"').and.contain('>Lock down</button>');
      const missing = await post('/directory/users/lockdown', { ids: String(anaId), reason: '  ' }, { Accept: 'application/json' });
      expect(missing.status).to.equal(422);
      expect(missing.body.errors.reason).to.contain('Say why');
      for (const reason of ['a\u0000b', 'x'.repeat(501), 'ad\u202Emin']) {
        expect((await post('/directory/users/lockdown', { ids: String(anaId), reason })).status, reason).to.equal(422);
      }
      expect(Boolean((await user(anaId)).is_active)).to.equal(true);
    });

    it('revokes everything it names: the session cookie, API tokens, recovery links and the password, even once activated again', async () => {
      const ana = agentFor(t.app);
      await login(ana, 'ana');
      const token = await createToken(
        t.db,
        { identifier: 'ana-script', description: '', ownerId: anaId, expires: null },
        await user(adminId),
      );
      if (!token.ok) throw new Error('no token');
      const withToken = () => agentFor(t.app).get('/api/v3/core/users/').set('Authorization', `Bearer ${token.key}`);
      expect((await withToken()).status).to.equal(403); // valid, but ana is no administrator
      const link = await createRecoveryToken(t.db, anaId, 3_600_000);
      expect((await agentFor(t.app).get(`/recovery/${link.token}`)).status).to.equal(200);

      const results = await act('/directory/users/lockdown', { ids: [anaId, adminId].map(String), reason: 'laptop stolen' });
      expect(outcomes(results)).to.deep.equal(['ana: done', 'akadmin: this is you']);
      const [event] = await contexts('user_lockdown');
      expect(event).to.deep.equal({
        model: { app: 'roster.directory', model_name: 'user', pk: anaId, name: 'ana' },
        reason: 'laptop stolen',
        deactivated: true,
        password_removed: true,
        revoked: { sessions: 1, oauth_tokens: 0, consents: 0, api_tokens: 1, recovery_links: 1 },
      });
      const locked = await user(anaId);
      expect(Boolean(locked.is_active)).to.equal(false);
      expect(locked.password).to.equal(null);

      // Activating gives back the account, not what the lockdown revoked.
      await post(`/directory/users/${anaId}/activation`, { is_active: 'true' });
      expect((await ana.get('/me')).status).to.equal(303);
      const refused = await withToken();
      expect(refused.status).to.equal(401);
      expect(refused.body.detail).to.contain('token revoked');
      expect((await login(agentFor(t.app), 'ana')).status).to.equal(401);
      expect((await agentFor(t.app).get(`/recovery/${link.token}`)).status).to.equal(410);
    });

    it('skips a user already locked down, recording nothing more', async () => {
      await act('/directory/users/lockdown', { ids: String(anaId), reason: 'first' });
      const again = await act('/directory/users/lockdown', { ids: String(anaId), reason: 'second' });
      expect(outcomes(again)).to.deep.equal(['ana: already locked down']);
      expect((await contexts('user_lockdown')).map((c) => c.reason)).to.deep.equal(['first']);
    });

    it("is offered on the user's page, where it reviews that one user", async () => {
      const page = await admin.get(`/directory/users/${anaId}`);
      const href = `/directory/users/lockdown?ids=${anaId}&amp;from=%2Fdirectory%2Fusers%2F${anaId}`;
      expect(page.text).to.contain(`href="${href}"`).and.contain('>Lockdown</a>');
      expect((await admin.get(`/directory/users/${adminId}`)).text).to.not.contain('>Lockdown</a>');
      const review = await admin.get(href.replace('&amp;', '&'));
      expect(review.text)
        .to.contain('Lock down 1 user?')
        .and.contain(`action="/directory/users/lockdown?from=%2Fdirectory%2Fusers%2F${anaId}"`);
      const done = await post(`/directory/users/lockdown?from=%2Fdirectory%2Fusers%2F${anaId}`, { ids: String(anaId), reason: 'left' });
      expect(done.text).to.contain(`href="/directory/users/${anaId}">Back</a>`);
    });
  });

  describe('schedule offboarding', () => {
    let anaId: number;
    let bobId: number;
    const inDays = (days: number) => new Date(Math.floor((Date.now() + days * 86_400_000) / 60_000) * 60_000);
    beforeEach(async () => {
      anaId = await createUser(t.db, { username: 'ana' });
      bobId = await createUser(t.db, { username: 'bob', isActive: false });
    });

    it("reviews with the user form's fields and defaults, and says who will be passed by", async () => {
      const review = await admin.get(`/directory/users/schedule-offboarding?ids=${anaId},${adminId}`);
      expect(review.status).to.equal(200);
      expect(review.text)
        .to.contain('Schedule the offboarding of 2 users?')
        .and.contain('name="run_at"')
        .and.match(/name="action" value="deactivate" checked/)
        .and.contain('name="idle_days" min="1" max="3650" step="1" value="90"')
        .and.contain('Will be skipped: You cannot schedule your own deactivation or deletion')
        .and.contain('>Schedule offboarding</button>');
      expect((await admin.get('/directory/users')).text).to.contain('/directory/users/schedule-offboarding');
    });

    it('schedules for each selected user, with a result per user and one event each', async () => {
      const at = inDays(7);
      const results = await act('/directory/users/schedule-offboarding', {
        ids: [anaId, bobId, adminId, 999_999].map(String),
        action: 'deactivate',
        when: 'at',
        run_at: at.toISOString().slice(0, 16),
        reason: 'contracts end',
      });
      expect(outcomes(results)).to.deep.equal([
        'ana: done',
        'bob: bob is deactivated already',
        'akadmin: You cannot schedule your own deactivation or deletion',
        'user #999999: no longer exists',
      ]);
      const rows = await t.db('scheduled_actions');
      expect(rows.map((r) => [r.user_id, r.action, new Date(r.run_at as Date).getTime(), r.reason])).to.deep.equal([
        [anaId, 'deactivate', at.getTime(), 'contracts end'],
      ]);
      expect((await contexts('offboarding_scheduled')).map((c) => c.model.name)).to.deep.equal(['ana']);

      // Deleting after idle days applies to the deactivated too, and replaces what was pending.
      const idle = await act('/directory/users/schedule-offboarding', {
        ids: [anaId, bobId].map(String),
        action: 'delete',
        idle_days: '30',
      });
      expect(outcomes(idle)).to.deep.equal(['ana: done', 'bob: done']);
      const after = await t.db('scheduled_actions').orderBy('user_id');
      expect(after.map((r) => [r.user_id, r.action, r.idle_days])).to.deep.equal([
        [anaId, 'delete', 30],
        [bobId, 'delete', 30],
      ]);
      const events = await contexts('offboarding_scheduled');
      expect(events.map((c) => [c.model.name, c.replaced?.action ?? null])).to.deep.equal([
        ['ana', null],
        ['ana', 'deactivate'],
        ['bob', null],
      ]);
    });

    it('says the totals without JavaScript, and the same submit twice changes nothing more', async () => {
      const fields = { ids: String(anaId), action: 'delete', when: 'idle', idle_days: '90', reason: '' };
      const page = await post('/directory/users/schedule-offboarding', fields);
      expect(page.status).to.equal(200);
      expect(page.text).to.contain('Scheduled for 1 user: deletion after 90 days without login.');
      await post('/directory/users/schedule-offboarding', fields);
      expect(await count('events', { action: 'offboarding_scheduled' })).to.equal(1);
      expect((await admin.get('/directory/users/scheduled')).text).to.contain('>ana</a>');
    });

    it('refuses a bad time or number of days on its field, keeping the selection and what was typed', async () => {
      const cases: [Record<string, string>, string, string][] = [
        [{ when: 'at', run_at: '2001-01-01T10:00' }, 'run_at', 'in the future'],
        [{ when: 'at', run_at: '2027-02-31T10:00' }, 'run_at', 'Enter a date and time'],
        [{ when: 'idle', idle_days: '0' }, 'idle_days', ''],
        [{ when: 'idle', idle_days: '1e400' }, 'idle_days', ''],
        [{ when: 'later', action: 'deactivate' }, 'when', 'Choose when'],
        [{ when: 'idle', idle_days: '5', action: '__proto__' }, 'action', ''],
      ];
      for (const [fields, field, message] of cases) {
        const res = await post(
          '/directory/users/schedule-offboarding',
          { ids: String(anaId), action: 'deactivate', ...fields },
          { Accept: 'application/json' },
        );
        expect(res.status, JSON.stringify(fields)).to.equal(422);
        expect(res.body.errors[field], JSON.stringify(fields)).to.be.a('string').and.contain(message);
      }
      const page = await post('/directory/users/schedule-offboarding', {
        ids: String(anaId),
        action: 'deactivate',
        when: 'idle',
        idle_days: '0',
      });
      expect(page.status).to.equal(422);
      expect(page.text).to.contain(`name="ids" value="${anaId}"`).and.contain('value="0"').and.contain('aria-invalid="true"');
      expect(await t.db('scheduled_actions')).to.deep.equal([]);
    });
  });

  describe('selecting every user the list matches', () => {
    let staff: number[];
    let otherId: number;
    beforeEach(async () => {
      staff = [];
      for (const [username, path] of [
        ['ana', 'staff'],
        ['anabel', 'staff/eu'],
        ['carl', 'staff'],
      ])
        staff.push(await createUser(t.db, { username, path }));
      otherId = await createUser(t.db, { username: 'anton', path: 'other' });
    });

    it('offers it in the list, with the filter of the list', async () => {
      const list = await admin.get('/directory/users?path=staff&q=an');
      expect(list.text)
        .to.contain('name="all" value="1"> All 2 users, every page')
        .and.contain('name="filter" value="path=staff&amp;q=an"')
        .and.contain('formaction="/directory/users/deactivate"')
        .and.contain('formaction="/directory/users/lockdown"');
    });

    it('acts on the users in a folder (and below), whatever rows were ticked', async () => {
      const review = await admin.get(`/directory/users/deactivate?all=1&filter=${encodeURIComponent('path=staff')}&ids=${otherId}`);
      expect(review.text).to.contain('Deactivate 3 users?').and.contain('name="all" value="1"').and.contain('value="path=staff"');
      expect(review.text).to.not.contain('name="ids"');
      const results = await act('/directory/users/deactivate', { all: '1', filter: 'path=staff', ids: String(otherId) });
      expect(results.done).to.equal(3);
      expect(Boolean((await user(otherId)).is_active)).to.equal(true);
    });

    it('acts on the users a search finds, in a folder', async () => {
      const results = await act('/directory/users/move', { all: '1', filter: 'q=an&path=staff', path: 'moved' });
      expect(outcomes(results).sort()).to.deep.equal(['ana: done', 'anabel: done']);
      expect((await user(otherId)).path).to.equal('other');
    });

    it('deletes them too', async () => {
      const res = await post('/directory/users/delete', { all: '1', filter: 'path=staff/eu' });
      expect(res.status).to.equal(303);
      expect(await count('users', { username: 'anabel' })).to.equal(0);
      expect(await count('users', { username: 'ana' })).to.equal(1);
    });

    it('refuses more than 10,000 users clearly, by filter or by ids', async () => {
      const now = new Date();
      const rows = Array.from({ length: 10_001 }, (_, i) => ({
        uuid: randomUUID(),
        username: `many${i}`,
        name: '',
        email: '',
        is_active: true,
        path: 'many',
        type: 'internal',
        attributes: '{}',
        date_joined: now,
        last_updated: now,
      }));
      await t.db.batchInsert('users', rows as never, 400);
      const message = 'More than 10,000 users are selected';
      const review = await admin.get(`/directory/users/deactivate?all=1&filter=path%3Dmany`);
      expect(review.status).to.equal(303);
      expect((await admin.get(review.headers.location)).text).to.contain(message);
      const byFilter = await post('/directory/users/deactivate', { all: '1', filter: 'path=many' });
      expect(byFilter.status).to.equal(422);
      expect(byFilter.text).to.contain(message);
      const ids = (await t.db('users').where({ path: 'many' }).pluck('id')).map(String);
      const byIds = await post('/directory/users/deactivate', { ids: ids.join(',') }, { Accept: 'application/json' });
      expect(byIds.status).to.equal(422);
      expect(byIds.body.errors.detail).to.contain(message);
      expect(await count('users', { path: 'many', is_active: false })).to.equal(0);
      // Exactly 10,000 is allowed.
      const most = await act('/directory/users/deactivate', { ids: ids.slice(1).join(',') });
      expect(most.done).to.equal(10_000);
    });
  });

  describe('hostile input', () => {
    it('ignores ids that are not ids, and never answers 5xx to strange fields', async () => {
      const anaId = await createUser(t.db, { username: 'ana' });
      const hostile = ['__proto__', 'constructor', '-1', '0', '1e400', '99999999999999999999', 'a\u0000b', '1.5'];
      const none = await post('/directory/users/deactivate', { ids: hostile });
      expect(none.status).to.equal(422);
      expect(none.text).to.contain('Nothing to deactivate');
      const some = await act('/directory/users/deactivate', { ids: [...hostile, String(anaId)] });
      expect(outcomes(some)).to.deep.equal(['ana: done']);
      for (const url of ['add-to-group', 'remove-from-group', 'move', 'lockdown', 'end-sessions', 'activate', 'schedule-offboarding']) {
        for (const value of ['__proto__', 'toString', '', 'a\u0000\u001b[31m', '<script>x</script>', 'é'.repeat(5000)]) {
          const fields = {
            ids: String(anaId),
            group: value,
            path: value,
            reason: value,
            all: value,
            filter: value,
            action: value,
            when: value,
            run_at: value,
            idle_days: value,
          };
          const res = await post(`/directory/users/${url}`, fields);
          expect(res.status, `${url} ${value.slice(0, 20)}`).to.be.below(500);
          expect(res.text).to.not.contain('<script>x</script>');
          const review = await admin.get(
            `/directory/users/${url}?ids=${anaId}&group=${encodeURIComponent(value)}&all=${encodeURIComponent(value)}`,
          );
          expect(review.status).to.be.below(500);
        }
      }
      const filters = ['%E0%A4%A', 'path=%00&q=%ff', 'q=__proto__&page=x&sort=-constructor', `q=${'a '.repeat(2000)}`];
      for (const filter of filters)
        expect((await post('/directory/users/end-sessions', { all: '1', filter })).status, filter).to.be.below(500);
    });
  });
});
