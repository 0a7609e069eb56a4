import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

/** Lookalike names are refused wherever a name is given: 422 with the reason on the field. */
describe('names that do not read as what they are', () => {
  let t: TestApp;
  let admin: TestAgent;
  let adminId: number;

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', admin: true });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
  });
  afterEach(() => t.close());

  async function post(url: string, fields: Record<string, string>) {
    return admin
      .post(url)
      .type('form')
      .send({ _csrf: await csrfOf(admin), ...fields });
  }
  function expectRefused(res: { status: number; text: string }, field: string, message: RegExp) {
    expect(res.status).to.equal(422);
    const error = new RegExp(`id="${field}-error"[^>]*>([^<]*)<`).exec(res.text);
    expect(error?.[1], res.text.slice(0, 200)).to.match(message);
  }

  for (const [what, username] of [
    ['a right-to-left override', 'admin\u202Egpj.exe'],
    ['a zero-width space', 'ak\u200Badmin'],
    ['a zero-width joiner', 'ak\u200Dadmin'],
  ]) {
    it(`refuses a username with ${what}, also through /api/v3 and on rename`, async () => {
      expectRefused(await post('/directory/users', { username, path: 'users' }), 'username', /invisible/);
      expectRefused(await post(`/directory/users/${adminId}`, { username, path: 'users' }), 'username', /invisible/);
      const created = await createToken(
        t.db,
        { identifier: 'robot', description: '', ownerId: adminId, expires: null },
        { id: adminId, username: 'akadmin', email: '' },
      );
      if (!created.ok) throw new Error('token');
      const res = await agentFor(t.app)
        .post('/api/v3/core/users/')
        .set('Authorization', `Bearer ${created.key}`)
        .send({ username, path: 'users' });
      expect(res.status).to.equal(400);
      expect(res.body.username[0]).to.match(/invisible/);
      expect(await t.db('users').count({ n: '*' }).first()).to.deep.include({ n: 1 });
    });
  }

  it('refuses a folder with an invisible character, or a folder name with a space at its end', async () => {
    expectRefused(await post('/directory/users', { username: 'ana', path: 'users/\u200Bstaff' }), 'path', /invisible/);
    expectRefused(await post('/directory/users', { username: 'ana', path: 'users /staff' }), 'path', /spaces/);
  });

  for (const [what, name, message] of [
    ['NUL', 'Ad\u0000mins', /control/],
    ['a bell', 'Ad\u0007mins', /control/],
    ['a right-to-left override', 'Ad\u202Emins', /invisible/],
  ] as const) {
    it(`refuses a group name with ${what}, on create and on rename`, async () => {
      expectRefused(await post('/directory/groups', { name }), 'name', message);
      const id = (await t.db('groups').first('id'))!.id;
      expectRefused(await post(`/directory/groups/${id}`, { name }), 'name', message);
      expect(await t.db('groups').pluck('name')).to.deep.equal(['Admins']);
    });
  }

  it('refuses an application name with an invisible character', async () => {
    const res = await post('/applications', {
      name: 'Wi\u200Bki',
      slug: 'wiki',
      redirect_uris: 'https://wiki.example.com/cb',
      consent_mode: 'explicit',
    });
    expectRefused(res, 'name', /invisible/);
  });

  it('stores usernames and group names in NFC: an accent typed apart makes the same name', async () => {
    expect((await post('/directory/users', { username: 'jose\u0301', path: 'users' })).status).to.equal(303);
    expect(await t.db('users').where({ username: 'josé' }).first()).to.not.equal(undefined);
    expect((await post('/directory/groups', { name: 'E\u0301quipe' })).status).to.equal(303);
    expect(await t.db('groups').where({ name: 'Équipe' }).first()).to.not.equal(undefined);
  });
});
