import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { addMember, ensureGroup } from '../../app/directory/groups/groups.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

describe('groups and memberships', () => {
  let t: TestApp;
  let admin: TestAgent;
  let adminId: number;
  let adminsGroup: number;

  async function post(url: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    return admin
      .post(url)
      .type('form')
      .set(headers)
      .send({ _csrf: await csrfOf(admin), ...fields });
  }

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', admin: true });
    adminsGroup = (await t.db('groups').where({ name: 'Admins' }).first())!.id;
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
  });
  afterEach(() => t.close());

  describe('Directory > Groups', () => {
    it('creates a group and lists it with its member count', async () => {
      const res = await post('/directory/groups', { name: 'Engineering', is_superuser: 'false', attributes: 'cost_center: 42' });
      expect(res.status).to.equal(303);
      const group = await t.db('groups').where({ name: 'Engineering' }).first();
      expect(JSON.parse(group!.attributes)).to.deep.equal({ cost_center: 42 });
      expect(await t.db('events').where({ action: 'model_created' }).first()).to.not.equal(undefined);
      const list = await admin.get('/directory/groups');
      expect(list.text).to.contain('>Engineering</a>').and.contain('Group Engineering created.');
      expect(list.text).to.match(/>Admins<\/a>[\s\S]*?<td>1<\/td>/);
    });

    it('refuses a duplicate name with 422 on the field, keeping the typed values', async () => {
      const res = await post('/directory/groups', { name: 'Admins', attributes: 'x: 1' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('id="name-error"').and.contain('A group with this name exists already').and.contain('x: 1');
      const renamed = await ensureGroup(t.db, 'Other', false);
      const edit = await post(`/directory/groups/${renamed}`, { name: 'Admins' });
      expect(edit.status).to.equal(422);
      expect(edit.text).to.contain('A group with this name exists already');
    });

    it('refuses an empty name and attributes that are not a mapping', async () => {
      const res = await post('/directory/groups', { name: ' ', attributes: '- a' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('Enter a name').and.contain('must be a mapping');
    });

    it('edits a group, and shows it with its members', async () => {
      const id = await ensureGroup(t.db, 'Sales', false);
      const res = await post(`/directory/groups/${id}`, { name: 'Sales EU', attributes: '{}' });
      expect(res.status).to.equal(303);
      expect((await t.db('groups').where({ id }).first())!.name).to.equal('Sales EU');
      const show = await admin.get(`/directory/groups/${adminsGroup}`);
      expect(show.text).to.contain('akadmin').and.contain('Superuser');
      expect((await admin.get('/directory/groups/9999')).status).to.equal(404);
    });

    it('deletes groups after a review; their members stay', async () => {
      const id = await ensureGroup(t.db, 'Temp', false);
      const userId = await createUser(t.db, { username: 'ana' });
      await addMember(t.db, id, userId);
      const review = await admin.get(`/directory/groups/delete?ids=${id}`);
      expect(review.text).to.contain('Delete 1 group?').and.contain('1 member');
      const res = await post('/directory/groups/delete', { ids: String(id) });
      expect(res.status).to.equal(303);
      expect(await t.db('groups').where({ id }).first()).to.equal(undefined);
      expect(await t.db('users').where({ id: userId }).first()).to.not.equal(undefined);
    });

    it('will not take away the last administrators: no deleting Admins, no clearing its superuser flag', async () => {
      const del = await post('/directory/groups/delete', { ids: String(adminsGroup) });
      expect(del.status).to.equal(422);
      expect(del.text).to.contain('This would leave no active administrator');
      const edit = await post(`/directory/groups/${adminsGroup}`, { name: 'Admins', is_superuser: 'false' });
      expect(edit.status).to.equal(422);
      expect(edit.text).to.contain('This would leave no active administrator');
      expect(Boolean((await t.db('groups').where({ id: adminsGroup }).first())!.is_superuser)).to.equal(true);
    });

    it('pages through groups by name with rel links', async () => {
      for (let i = 0; i < 60; i++) await ensureGroup(t.db, `Team ${String(i).padStart(2, '0')}`, false);
      const first = await admin.get('/directory/groups');
      const next = /<a rel="next" href="([^"]+)"/.exec(first.text)![1].replace(/&amp;/g, '&');
      const second = await admin.get(next);
      expect(second.text)
        .to.contain('Team 59')
        .and.match(/rel="prev"/);
      expect(first.text).to.not.contain('Team 59');
      expect((await admin.get('/directory/groups?q=Team%205')).text.match(/>Team 5\d</g)).to.have.length(10);
    });
  });

  describe('Groups tab of a user', () => {
    let anaId: number;
    beforeEach(async () => {
      anaId = await createUser(t.db, { username: 'ana' });
      await ensureGroup(t.db, 'Engineering', false);
    });

    it('adds the user to a group chosen by name, offering every group', async () => {
      const tab = await admin.get(`/directory/users/${anaId}/groups`);
      expect(tab.text).to.contain('<datalist id="group-choices">').and.contain('<option value="Engineering">');
      const res = await post(`/directory/users/${anaId}/groups`, { group: 'Engineering' });
      expect(res.status).to.equal(303);
      const after = await admin.get(`/directory/users/${anaId}/groups`);
      expect(after.text).to.contain('ana added to Engineering.').and.contain('Member of 1 group');
      const again = await post(`/directory/users/${anaId}/groups`, { group: 'Engineering' });
      expect(again.status).to.equal(303);
      expect((await admin.get(again.headers.location)).text).to.contain('ana is in Engineering already.');
    });

    it('keeps the member counts of the groups list current through adds, removals and user deletion', async () => {
      const engineering = /">Engineering<\/a>[\s\S]*?<td>(\d+)<\/td>/;
      const count = async () => Number(engineering.exec((await admin.get('/directory/groups')).text)?.[1]);
      expect(await count()).to.equal(0);
      await post(`/directory/users/${anaId}/groups`, { group: 'Engineering' });
      expect(await count()).to.equal(1);
      const group = (await t.db('groups').where({ name: 'Engineering' }).first())!;
      await post(`/directory/users/${anaId}/groups/remove`, { ids: String(group.id) });
      expect(await count()).to.equal(0);
      await post(`/directory/users/${anaId}/groups`, { group: 'Engineering' });
      expect(await count()).to.equal(1);
      await post('/directory/users/delete', { ids: String(anaId) });
      expect(await count()).to.equal(0);
    });

    it('refuses an unknown group with 422 on the field', async () => {
      const res = await post(`/directory/users/${anaId}/groups`, { group: 'Nope <b>' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('There is no group named “Nope &lt;b&gt;”').and.contain('aria-invalid="true"');
    });

    it('removes selected memberships after a review', async () => {
      const eng = (await t.db('groups').where({ name: 'Engineering' }).first())!.id;
      await addMember(t.db, eng, anaId);
      const review = await admin.get(`/directory/users/${anaId}/groups/remove?ids=${eng}`);
      expect(review.text).to.contain('Remove 1 membership?').and.contain('>Remove</button>');
      const res = await post(`/directory/users/${anaId}/groups/remove`, { ids: String(eng) });
      expect(res.status).to.equal(303);
      expect(await t.db('group_memberships').where({ user_id: anaId }).first()).to.equal(undefined);
    });

    it('refuses to remove the last superuser membership of the last active superuser', async () => {
      const res = await post(`/directory/users/${adminId}/groups/remove`, { ids: String(adminsGroup) });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('This would leave no active administrator');
      expect(await t.db('group_memberships').where({ user_id: adminId }).first()).to.not.equal(undefined);
      // With a second administrator, it is allowed.
      const other = await createUser(t.db, { username: 'second' });
      await addMember(t.db, adminsGroup, other);
      expect((await post(`/directory/users/${adminId}/groups/remove`, { ids: String(adminsGroup) })).status).to.equal(303);
    });
  });
});
