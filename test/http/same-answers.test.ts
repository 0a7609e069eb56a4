import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { ensureGroup } from '../../app/directory/groups/groups.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { insertUser } from '../../app/directory/users/users.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

/**
 * Values that differ only by case, accents or punctuation. Every answer below is fixed: the suite
 * runs on SQLite and on MariaDB, so passing on both proves that the two databases agree.
 */
describe('the same answers on both databases', function () {
  this.timeout(30_000);
  let t: TestApp;
  let admin: TestAgent;
  let key: string;

  beforeEach(async () => {
    t = await testApp();
    const adminId = await createUser(t.db, { username: 'akadmin', admin: true, path: 'admins' });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const created = await createToken(
      t.db,
      { identifier: 'robot', description: '', ownerId: adminId, expires: null },
      { id: adminId, username: 'akadmin', email: '' },
    );
    if (!created.ok) throw new Error('token');
    key = created.key;
  });
  afterEach(() => t.close());

  const usernamesIn = (html: string) =>
    [...html.matchAll(/<a href="\/directory\/users\/\d+" hx-boost="false">([^<]*)<\/a>/g)].map((m) => m[1]);
  const api = (path: string) => agentFor(t.app).get(path).set('Authorization', `Bearer ${key}`);
  const apiUsernames = async (query: string) =>
    (await api(`/api/v3/core/users/?${query}`)).body.results.map((u: { username: string }) => u.username).sort();
  async function post(url: string, fields: Record<string, string>) {
    return admin
      .post(url)
      .type('form')
      .send({ _csrf: await csrfOf(admin), ...fields });
  }

  describe('folders are exact and case-sensitive', () => {
    const FOLDERS: [string, string][] = [
      ['in-fold', 'fold'],
      ['in-fold-sub', 'fold/sub'],
      ['in-Fold-up', 'Fold/up'],
      ['in-föld', 'föld'],
      ['in-fold-hash', 'fold#x'],
      ['in-fold-percent', 'fold%y'],
      ['in-fold-underscore', 'fold_y'],
      ['in-fold-dot', 'fold.z'],
      ['in-FOLD', 'FOLD'],
    ];
    beforeEach(async () => {
      for (const [username, path] of FOLDERS) await insertUser(t.db, { username, path });
    });

    const expected: [string, string[]][] = [
      ['fold', ['in-fold', 'in-fold-sub']],
      ['Fold', ['in-Fold-up']],
      ['FOLD', ['in-FOLD']],
      ['föld', ['in-föld']],
      ['fold#x', ['in-fold-hash']],
      ['fold%y', ['in-fold-percent']],
      ['fold_y', ['in-fold-underscore']],
      ['fold/sub', ['in-fold-sub']],
      ['fo', []],
    ];
    for (const [path, usernames] of expected) {
      it(`the folder ${path} lists, exports and answers through /api/v3 ${usernames.join(', ') || 'nobody'}`, async () => {
        const query = `path=${encodeURIComponent(path)}`;
        expect(usernamesIn((await admin.get(`/directory/users?${query}`)).text), 'list').to.deep.equal(usernames);
        expect(usernamesIn((await admin.get(`/directory/users?${query}&sort=-name`)).text).sort(), 'list sorted').to.deep.equal(usernames);
        expect(usernamesIn((await admin.get(`/directory/users?${query}&q=in`)).text).sort(), 'search in the folder').to.deep.equal(
          usernames,
        );
        const csv = (await admin.get(`/directory/users/export.csv?${query}`)).text.trim().split('\r\n').slice(1);
        expect(
          csv.map((line) => line.split(',')[2]),
          'export',
        ).to.deep.equal(usernames);
        // /api/v3: `path` is exact (this folder only), `path_startswith` a prefix of the path.
        expect(await apiUsernames(query), 'api path').to.deep.equal(usernames.filter((u) => FOLDERS.find(([n]) => n === u)![1] === path));
      });
    }

    it('/api/v3 path_startswith and the paths list compare by exact prefix', async () => {
      expect(await apiUsernames('path_startswith=fold')).to.deep.equal([
        'in-fold',
        'in-fold-dot',
        'in-fold-hash',
        'in-fold-percent',
        'in-fold-sub',
        'in-fold-underscore',
      ]);
      expect(await apiUsernames('path_startswith=fold%2F')).to.deep.equal(['in-fold-sub']);
      expect(await apiUsernames('path_startswith=F')).to.deep.equal(['in-FOLD', 'in-Fold-up']);
      expect((await api('/api/v3/core/users/paths/?search=fold')).body.paths).to.deep.equal([
        'fold',
        'fold#x',
        'fold%y',
        'fold.z',
        'fold/sub',
        'fold_y',
      ]);
    });

    it('the folder tree shows every folder once, each as its own link, in code point order, depth first', async () => {
      const page = (await admin.get('/directory/users')).text;
      const links = [...page.matchAll(/<a href="\/directory\/users\?path=([^"]+)"/g)].map((m) => decodeURIComponent(m[1]));
      expect(links).to.deep.equal([
        'FOLD',
        'Fold',
        'Fold/up',
        'admins',
        'fold',
        'fold/sub',
        'fold#x',
        'fold%y',
        'fold.z',
        'fold_y',
        'föld',
      ]);
    });
  });

  describe('usernames are exact and case-sensitive', () => {
    it('alice, Alice and alíce are three users; alice twice, or alíce typed decomposed, is taken', async () => {
      for (const username of ['alice', 'Alice', 'alíce'])
        expect((await post('/directory/users', { username, path: 'users' })).status, username).to.equal(303);
      for (const username of ['alice', 'ali\u0301ce']) {
        const res = await post('/directory/users', { username, path: 'users' });
        expect(res.status, username).to.equal(422);
        expect(res.text).to.contain('This username is taken');
      }
      expect(await apiUsernames('username=alice')).to.deep.equal(['alice']);
      expect(await apiUsernames('username=Alice')).to.deep.equal(['Alice']);
      expect(await apiUsernames('username=al%C3%ADce')).to.deep.equal(['alíce']);
    });

    it('searching finds words by their start without case or accents, and reads % and _ as punctuation, not wildcards', async () => {
      await insertUser(t.db, { username: 'alice', path: 'users' });
      await insertUser(t.db, { username: 'Alice', path: 'users' });
      await insertUser(t.db, { username: 'alíce', path: 'users' });
      await insertUser(t.db, { username: 'bob', name: 'Alister', email: 'ALI@example.com', path: 'users' });
      await insertUser(t.db, { username: 'cleo', name: 'Bárbara', email: 'BARB@example.com', path: 'users' });
      await insertUser(t.db, { username: 'al_x', path: 'users' });
      await insertUser(t.db, { username: 'al%x', path: 'users' });
      await insertUser(t.db, { username: 'dora', name: 'Xalice', path: 'users' });
      const search = async (q: string) => usernamesIn((await admin.get(`/directory/users?q=${encodeURIComponent(q)}`)).text).sort();
      const alices = ['Alice', 'alice', 'alíce'];
      expect(await search('ali')).to.deep.equal([...alices, 'bob']);
      expect(await search('Ali')).to.deep.equal([...alices, 'bob']);
      expect(await search('alíc')).to.deep.equal(alices);
      expect(await search('ALÍCE')).to.deep.equal(alices);
      expect(await search('bár')).to.deep.equal(['cleo']);
      expect(await search('barb')).to.deep.equal(['cleo']);
      expect(await search('al_x')).to.deep.equal(['al%x', 'al_x']);
      expect(await search('al%x')).to.deep.equal(['al%x', 'al_x']);
      expect(await search('%')).to.deep.equal([]);
      expect(await search('ALISTER')).to.deep.equal(['bob']);
      const csv = async (q: string) =>
        (await admin.get(`/directory/users/export.csv?q=${encodeURIComponent(q)}`)).text
          .trim()
          .split('\r\n')
          .slice(1)
          .map((l) => l.split(',')[2])
          .sort();
      expect(await csv('ali')).to.deep.equal([...alices, 'bob']);
      expect(await csv('al_x')).to.deep.equal(['al%x', 'al_x']);
      expect(await apiUsernames('search=ali')).to.deep.equal([...alices, 'bob']);
      expect(await apiUsernames('search=al%25x')).to.deep.equal(['al%x', 'al_x']);
    });
  });

  describe('group names are exact and case-sensitive', () => {
    it('Staff, staff and Stäff are three groups; Staff twice, or Stäff typed decomposed, is taken', async () => {
      for (const name of ['Staff', 'staff', 'Stäff']) expect((await post('/directory/groups', { name })).status, name).to.equal(303);
      for (const name of ['Staff', 'Sta\u0308ff']) {
        const res = await post('/directory/groups', { name });
        expect(res.status, name).to.equal(422);
        expect(res.text).to.contain('A group with this name exists already');
      }
      const listed = async (q: string) =>
        [
          ...(await admin.get(`/directory/groups?q=${encodeURIComponent(q)}`)).text.matchAll(
            /<a class="username" href="\/directory\/groups\/\d+">([^<]*)<\/a>/g,
          ),
        ].map((m) => m[1]);
      expect(await listed('St')).to.deep.equal(['Staff', 'Stäff']);
      expect(await listed('sta')).to.deep.equal(['staff']);
      const names = async (query: string) => (await api(`/api/v3/core/groups/?${query}`)).body.results.map((g: { name: string }) => g.name);
      expect(await names('name=staff')).to.deep.equal(['staff']);
      expect(await names('search=Sta')).to.deep.equal(['Staff']);
    });

    it('a member is added to the group named exactly so', async () => {
      await ensureGroup(t.db, 'Staff', false);
      const staff = await ensureGroup(t.db, 'staff', false);
      const id = await createUser(t.db, { username: 'ana' });
      expect((await post(`/directory/users/${id}/groups`, { group: 'staff' })).status).to.equal(303);
      expect(await t.db('group_memberships').where({ user_id: id }).pluck('group_id')).to.deep.equal([staff]);
    });
  });

  it('API token identifiers are exact: robot and Robot are two tokens', async () => {
    const res = await post('/directory/tokens', { identifier: 'Robot', owner: 'akadmin', expires_in: '90' });
    expect(res.status).to.equal(201);
    expect((await post('/directory/tokens', { identifier: 'robot', owner: 'akadmin', expires_in: '90' })).status).to.equal(422);
  });
});
