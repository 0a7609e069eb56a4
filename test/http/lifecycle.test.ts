import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { addMember, ensureGroup } from '../../app/directory/groups/groups.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0';

describe('sessions tab, deactivation and deleting users', () => {
  let t: TestApp;
  let admin: TestAgent;
  let adminId: number;

  async function post(agent: TestAgent, url: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    return agent
      .post(url)
      .type('form')
      .set(headers)
      .send({ _csrf: await csrfOf(agent), ...fields });
  }
  const count = async (table: 'sessions' | 'group_memberships' | 'events' | 'users', where: Record<string, unknown>) =>
    Number((await t.db(table).where(where).count({ n: '*' }).first())!.n);

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', admin: true });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
  });
  afterEach(() => t.close());

  describe('sessions tab', () => {
    let anaId: number;
    let phone: TestAgent;
    let laptop: TestAgent;
    beforeEach(async () => {
      anaId = await createUser(t.db, { username: 'ana' });
      phone = agentFor(t.app);
      laptop = agentFor(t.app).set('User-Agent', FIREFOX);
      await login(phone, 'ana');
      await login(laptop, 'ana');
    });

    it("lists the user's sessions with device, IP and times, and marks the admin's own", async () => {
      const res = await admin.get(`/directory/users/${anaId}/sessions`);
      expect(res.status).to.equal(200);
      expect(res.text).to.contain('Firefox 130 on Linux').and.contain('127.0.0.1');
      expect(res.text.match(/name="ids"/g)).to.have.length(2);
      expect(res.text).to.not.contain('This session');
      expect((await admin.get(`/directory/users/${adminId}/sessions`)).text).to.contain('This session');
      const fragment = await admin.get(`/directory/users/${anaId}/sessions`).set('HX-Request', 'true').set('HX-Target', 'div#user-tabs');
      expect(fragment.text)
        .to.match(/^<div id="user-tabs"/)
        .and.not.contain('<html');
    });

    it('never shows the session id itself', async () => {
      const sids = (await t.db('sessions').where({ user_id: anaId }).select('sid')).map((r) => r.sid);
      const res = await admin.get(`/directory/users/${anaId}/sessions`);
      for (const sid of sids) expect(res.text).to.not.contain(sid);
    });

    it('deleting one of two sessions logs out that browser only, after a review', async () => {
      const laptopRow = await t.db('sessions').where({ user_id: anaId }).where('last_user_agent', 'like', '%Firefox%').first();
      const review = await admin.get(`/directory/users/${anaId}/sessions/delete?ids=${laptopRow!.id}`);
      expect(review.status).to.equal(200);
      expect(review.text).to.contain('Delete 1 session?').and.contain('Firefox 130 on Linux');
      expect((await laptop.get('/me')).status).to.equal(200);
      const res = await post(admin, `/directory/users/${anaId}/sessions/delete`, { ids: String(laptopRow!.id) });
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal(`/directory/users/${anaId}/sessions`);
      expect((await laptop.get('/me')).status).to.equal(303);
      expect((await phone.get('/me')).status).to.equal(200);
      const event = await t.db('events').where({ action: 'model_deleted', user_pk: adminId }).first();
      expect(JSON.parse(event!.context)).to.include({ user: 'ana', count: 1 });
    });

    it('answers htmx with a modal review, then closes it and refreshes the tab', async () => {
      const ids = (await t.db('sessions').where({ user_id: anaId }).select('id')).map((r) => String(r.id));
      const review = await admin
        .get(`/directory/users/${anaId}/sessions/delete?ids=${ids.join('&ids=')}`)
        .set('HX-Request', 'true')
        .set('HX-Target', 'div#modal');
      expect(review.text)
        .to.match(/^<dialog class="modal"/)
        .and.contain('Delete 2 sessions?');
      const res = await post(
        admin,
        `/directory/users/${anaId}/sessions/delete`,
        { ids },
        { 'HX-Request': 'true', 'HX-Target': 'div#modal' },
      );
      expect(res.status).to.equal(200);
      expect(res.headers['hx-trigger']).to.equal('tab-changed');
      expect(res.headers['hx-reswap']).to.contain('swapEmpty:true');
      expect(await count('sessions', { user_id: anaId })).to.equal(0);
    });

    it("ignores ids of another user's sessions and asks for a selection when none is left", async () => {
      const adminSession = await t.db('sessions').where({ user_id: adminId }).first();
      const res = await post(admin, `/directory/users/${anaId}/sessions/delete`, { ids: String(adminSession!.id) });
      expect(res.status).to.equal(422);
      expect(await count('sessions', { user_id: adminId })).to.equal(1);
      const none = await admin.get(`/directory/users/${anaId}/sessions/delete`);
      expect(none.status).to.equal(303);
      expect((await admin.get(none.headers.location)).text).to.contain('Select at least one session first.');
    });

    it('pages a long list of sessions and deletes thousands in one request', async () => {
      const now = Date.now();
      await t.db.batchInsert(
        'sessions',
        Array.from({ length: 2100 }, (_, i) => ({
          sid: `bulk-${i}`,
          user_id: anaId,
          data: '{"cookie":{}}',
          last_ip: '10.0.0.9',
          last_user_agent: FIREFOX,
          last_used: new Date(now - (i + 10) * 1000),
          expires: new Date(now + 86_400_000),
          created: new Date(now - 86_400_000),
        })) as never,
        400,
      );
      const first = await admin.get(`/directory/users/${anaId}/sessions`);
      expect(first.text.match(/name="ids"/g)).to.have.length(50);
      const next = /<a rel="next" href="([^"]+)"/.exec(first.text)![1];
      const second = await admin.get(next);
      expect(second.text.match(/name="ids"/g)).to.have.length(50);
      expect(second.text).to.not.contain(/name="ids" value="(\d+)"/.exec(first.text)![0]);
      const ids = (await t.db('sessions').where({ user_id: anaId }).pluck('id')).map(String);
      const res = await post(admin, `/directory/users/${anaId}/sessions/delete`, { ids });
      expect(res.status).to.equal(303);
      expect(await count('sessions', { user_id: anaId })).to.equal(0);
    });

    it('warns before the admin ends their own session', async () => {
      const own = await t.db('sessions').where({ user_id: adminId }).first();
      const review = await admin.get(`/directory/users/${adminId}/sessions/delete?ids=${own!.id}`);
      expect(review.text).to.contain('you will be logged out');
    });
  });

  describe('deactivate and activate', () => {
    it('reviews, then blocks login and ends every session at once; activating lifts the block', async () => {
      const anaId = await createUser(t.db, { username: 'ana' });
      const ana = agentFor(t.app);
      await login(ana, 'ana');
      const review = await admin.get(`/directory/users/${anaId}/activation`);
      expect(review.text).to.contain('Deactivate ana?').and.contain('1 active session will end').and.contain('>Update</button>');
      const res = await post(admin, `/directory/users/${anaId}/activation`, { is_active: 'false' });
      expect(res.status).to.equal(303);
      expect(await count('sessions', { user_id: anaId })).to.equal(0);
      expect((await ana.get('/me')).status).to.equal(303);
      expect((await login(agentFor(t.app), 'ana')).status).to.equal(401);
      expect((await admin.get(`/directory/users/${anaId}`)).text).to.contain('ana deactivated');
      const event = await t.db('events').where({ action: 'model_updated' }).orderBy('id', 'desc').first();
      expect(JSON.parse(event!.context)).to.include({ is_active: false });

      expect((await admin.get(`/directory/users/${anaId}/activation`)).text).to.contain('Activate ana?');
      await post(admin, `/directory/users/${anaId}/activation`, { is_active: 'true' });
      expect((await login(agentFor(t.app), 'ana')).status).to.equal(303);
    });

    it('without JavaScript, returns to the list the review was opened from (Referer or from), never to another site', async () => {
      const anaId = await createUser(t.db, { username: 'ana' });
      const list = '/directory/users?path=users&q=an&page=2';
      const review = await admin
        .get(`/directory/users/${anaId}/activation`)
        .set('Host', 'roster.test')
        .set('Referer', `http://roster.test${list}`);
      expect(review.text)
        .to.contain('<input type="hidden" name="from" value="/directory/users?path=users&amp;q=an&amp;page=2">')
        .and.contain('href="/directory/users?path=users&amp;q=an&amp;page=2">Cancel</a>');
      const res = await post(admin, `/directory/users/${anaId}/activation`, { is_active: 'false', from: list });
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal(list);
      for (const referer of ['http://evil.example/directory/users', 'https://roster.test/directory/users', 'not a url']) {
        const foreign = await admin.get(`/directory/users/${anaId}/activation`).set('Host', 'roster.test').set('Referer', referer);
        expect(foreign.text, referer).to.not.contain('name="from"');
      }
      for (const from of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
        const back = await post(admin, `/directory/users/${anaId}/activation`, { is_active: 'true', from });
        expect(back.headers.location, from).to.equal(`/directory/users/${anaId}`);
      }
    });

    it('refuses self-deactivation with a clear message', async () => {
      const res = await post(admin, `/directory/users/${adminId}/activation`, { is_active: 'false' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('You cannot deactivate your own account.');
      expect(Boolean((await t.db('users').where({ id: adminId }).first())!.is_active)).to.equal(true);
    });

    it('refuses to deactivate the last other active administrator only when none would remain', async () => {
      const otherId = await createUser(t.db, { username: 'other-admin', admin: true });
      expect((await post(admin, `/directory/users/${otherId}/activation`, { is_active: 'false' })).status).to.equal(303);
    });
  });

  describe('delete users', () => {
    let ids: number[];
    beforeEach(async () => {
      const group = await ensureGroup(t.db, 'Staff', false);
      ids = [];
      for (const username of ['u1', 'u2', 'u3']) {
        const id = await createUser(t.db, { username });
        await addMember(t.db, group, id);
        const agent = agentFor(t.app);
        await login(agent, username);
        ids.push(id);
      }
    });

    it('reviews each user with what goes with them', async () => {
      const res = await admin.get(`/directory/users/delete?ids=${ids.join(',')}`);
      expect(res.status).to.equal(200);
      expect(res.text).to.contain('Delete 3 users?').and.contain('1 session').and.contain('1 group membership').and.contain('1 event');
      expect(res.text.match(/name="ids"/g)).to.have.length(3);
    });

    it('deletes them with their sessions, memberships and events in one go', async () => {
      const res = await post(admin, '/directory/users/delete', { ids: ids.map(String) });
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal('/directory/users');
      for (const id of ids) {
        expect(await count('users', { id })).to.equal(0);
        expect(await count('sessions', { user_id: id })).to.equal(0);
        expect(await count('group_memberships', { user_id: id })).to.equal(0);
        expect(await count('events', { user_pk: id })).to.equal(0);
      }
      const deleted = await t.db('events').where({ action: 'model_deleted', user_pk: adminId });
      expect(deleted.map((e) => JSON.parse(e.context).deleted_user.username).sort()).to.deep.equal(['u1', 'u2', 'u3']);
      expect((await admin.get('/directory/users')).text).to.contain('3 users deleted.');
    });

    it('keeps their events when DELETE_USER_EVENTS is false', async () => {
      const keeping = await testApp({ DELETE_USER_EVENTS: 'false' });
      try {
        await createUser(keeping.db, { username: 'boss', admin: true });
        const goneId = await createUser(keeping.db, { username: 'gone' });
        await login(agentFor(keeping.app), 'gone');
        const boss = agentFor(keeping.app);
        await login(boss, 'boss');
        await boss
          .post('/directory/users/delete')
          .type('form')
          .send({ _csrf: await csrfOf(boss), ids: String(goneId) });
        expect(await keeping.db('users').where({ id: goneId }).first()).to.equal(undefined);
        const kept = await keeping.db('events').where({ user_pk: goneId, action: 'login' }).first();
        expect(JSON.parse(kept!.user)).to.include({ username: 'gone' });
      } finally {
        await keeping.close();
      }
    });

    it('leaves all of them intact when something fails in the middle', async () => {
      // The users are deleted first; recording the events then fails: everything rolls back.
      await t.db.schema.renameTable('events', 'events_elsewhere');
      try {
        const res = await post(admin, '/directory/users/delete', { ids: ids.map(String) });
        expect(res.status).to.equal(500);
      } finally {
        await t.db.schema.renameTable('events_elsewhere', 'events');
      }
      for (const id of ids) {
        expect(await count('users', { id })).to.equal(1);
        expect(await count('sessions', { user_id: id })).to.equal(1);
        expect(await count('group_memberships', { user_id: id })).to.equal(1);
      }
    });

    it('refuses to delete the signed-in administrator, with a clear message, and deletes nobody', async () => {
      const review = await admin.get(`/directory/users/delete?ids=${adminId},${ids[0]}`);
      expect(review.text).to.contain('You cannot delete your own account');
      const res = await post(admin, '/directory/users/delete', { ids: [String(adminId), String(ids[0])] });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('You cannot delete your own account.');
      expect(await count('users', { id: ids[0] })).to.equal(1);
    });

    it('refreshes the list over htmx and closes the review', async () => {
      const res = await post(admin, '/directory/users/delete', { ids: String(ids[0]) }, { 'HX-Request': 'true', 'HX-Target': 'div#modal' });
      expect(res.headers['hx-trigger']).to.equal('users-changed');
      expect(res.text).to.contain('User u1 deleted.');
    });
  });
});
