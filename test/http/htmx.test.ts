import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { ensureGroup } from '../../app/directory/groups/groups.js';
import { insertUser } from '../../app/directory/users/users.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

/** One way for each htmx idea: how a dialog ends, how a region reloads, what a gone thing's page does. */
describe('htmx: one way for each idea', () => {
  let t: TestApp;
  let admin: TestAgent;
  const MODAL = { 'HX-Request': 'true', 'HX-Target': 'div#modal' };
  const region = (id: string) => ({ 'HX-Request': 'true', 'HX-Target': `div#${id}` });

  async function post(url: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    return admin
      .post(url)
      .type('form')
      .set(headers)
      .send({ _csrf: await csrfOf(admin), ...fields });
  }
  const idOf = async (table: string, where: Record<string, string>) => (await t.db(table).where(where).first('id'))!.id as number;

  beforeEach(async () => {
    t = await testApp();
    await createUser(t.db, { username: 'akadmin', admin: true });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
  });
  afterEach(() => t.close());

  /** A dialog to finish, made fresh for each run (`n` keeps names apart). */
  interface Finish {
    what: string;
    changed: string;
    start(n: number): Promise<{ url: string; fields: Record<string, string | string[]>; toast: string; back: string }>;
  }
  const application = { redirect_uris: 'https://app.example.com/cb', consent_mode: 'explicit' };
  const finishes: Finish[] = [
    {
      what: 'creating a user',
      changed: 'users-changed',
      start: async (n) => ({
        url: '/directory/users',
        fields: { username: `new${n}`, path: 'users' },
        toast: `User new${n} created.`,
        back: '/directory/users?path=users',
      }),
    },
    {
      what: 'editing a user',
      changed: 'users-changed',
      start: async (n) => {
        const id = await insertUser(t.db, { username: `ed${n}`, path: 'users' });
        return {
          url: `/directory/users/${id}`,
          fields: { name: 'Renamed' },
          toast: `User ed${n} updated.`,
          back: `/directory/users/${id}`,
        };
      },
    },
    {
      what: 'deactivating a user',
      changed: 'users-changed',
      start: async (n) => {
        const id = await insertUser(t.db, { username: `off${n}`, path: 'users' });
        return {
          url: `/directory/users/${id}/activation`,
          fields: { is_active: 'false' },
          toast: `off${n} deactivated`,
          back: `/directory/users/${id}`,
        };
      },
    },
    {
      what: 'setting a password',
      changed: 'users-changed',
      start: async (n) => {
        const id = await insertUser(t.db, { username: `pw${n}`, path: 'users' });
        const password = 'a long enough passphrase';
        return {
          url: `/directory/users/${id}/password`,
          fields: { password, password_repeat: password },
          toast: `Password of pw${n} set.`,
          back: `/directory/users/${id}`,
        };
      },
    },
    {
      what: 'deleting users',
      changed: 'users-changed',
      start: async (n) => {
        const id = await insertUser(t.db, { username: `gone${n}`, path: 'users' });
        return { url: '/directory/users/delete', fields: { ids: String(id) }, toast: `User gone${n} deleted.`, back: '/directory/users' };
      },
    },
    {
      what: 'removing memberships',
      changed: 'tab-changed',
      start: async (n) => {
        const id = await insertUser(t.db, { username: `member${n}`, path: 'users' });
        const groupId = await ensureGroup(t.db, `Team ${n}`, false);
        await post(`/directory/users/${id}/groups`, { group: `Team ${n}` });
        return {
          url: `/directory/users/${id}/groups/remove`,
          fields: { ids: String(groupId) },
          toast: `member${n} removed from Team ${n}.`,
          back: `/directory/users/${id}/groups`,
        };
      },
    },
    {
      what: 'creating a group',
      changed: 'groups-changed',
      start: async (n) => ({
        url: '/directory/groups',
        fields: { name: `Group ${n}` },
        toast: `Group Group ${n} created.`,
        back: '/directory/groups',
      }),
    },
    {
      what: 'editing a group',
      changed: 'groups-changed',
      start: async (n) => {
        const id = await ensureGroup(t.db, `Old ${n}`, false);
        return {
          url: `/directory/groups/${id}`,
          fields: { name: `New ${n}` },
          toast: `Group New ${n} saved.`,
          back: `/directory/groups/${id}`,
        };
      },
    },
    {
      what: 'deleting groups',
      changed: 'groups-changed',
      start: async (n) => {
        const id = await ensureGroup(t.db, `Doomed ${n}`, false);
        return {
          url: '/directory/groups/delete',
          fields: { ids: String(id) },
          toast: `Group Doomed ${n} deleted.`,
          back: '/directory/groups',
        };
      },
    },
    {
      what: 'editing an application',
      changed: 'applications-changed',
      start: async (n) => {
        await post('/applications', { ...application, name: `App ${n}`, slug: `app-${n}` });
        const id = await idOf('applications', { slug: `app-${n}` });
        return {
          url: `/applications/${id}`,
          fields: { ...application, name: `Renamed ${n}`, slug: `app-${n}` },
          toast: `Application Renamed ${n} saved.`,
          back: `/applications/${id}`,
        };
      },
    },
    {
      what: 'deleting applications',
      changed: 'applications-changed',
      start: async (n) => {
        await post('/applications', { ...application, name: `Gone ${n}`, slug: `gone-${n}` });
        return {
          url: '/applications/delete',
          fields: { ids: String(await idOf('applications', { slug: `gone-${n}` })) },
          toast: `Application Gone ${n} deleted.`,
          back: '/applications',
        };
      },
    },
    {
      what: 'revoking API tokens',
      changed: 'tokens-changed',
      start: async (n) => {
        await post('/directory/tokens', { identifier: `token-${n}`, owner: 'akadmin', expires_in: '30' });
        return {
          url: '/directory/tokens/revoke',
          fields: { ids: String(await idOf('api_tokens', { identifier: `token-${n}` })) },
          toast: 'Token revoked.',
          back: '/directory/tokens',
        };
      },
    },
  ];

  for (const finish of finishes) {
    it(`ends ${finish.what} one way: in the modal, it closes, the page hears ${finish.changed} and the toast shows; without htmx, 303 back`, async () => {
      const modal = await finish.start(1);
      const res = await post(modal.url, modal.fields, MODAL);
      expect(res.status, res.text).to.equal(200);
      expect(res.headers['hx-trigger']).to.equal(finish.changed);
      expect(res.headers['hx-reswap']).to.equal('innerHTML swapEmpty:true');
      expect(res.headers['hx-refresh']).to.equal(undefined);
      expect(res.text)
        .to.match(/^<hx-partial hx-target="#toasts"/)
        .and.contain(modal.toast);

      const plain = await finish.start(2);
      const redirected = await post(plain.url, plain.fields);
      expect(redirected.status, redirected.text).to.equal(303);
      expect(redirected.headers.location).to.equal(plain.back);
      expect((await admin.get(plain.back)).text).to.contain(plain.toast);
    });
  }

  const tables: [string, string, string, string][] = [
    ['/directory/users', 'users-table', 'users-changed', '<table class="table users">'],
    ['/directory/groups', 'groups-table', 'groups-changed', '>Admins</a>'],
    ['/directory/tokens', 'tokens-table', 'tokens-changed', 'No tokens yet.'],
    ['/applications', 'applications-table', 'applications-changed', 'No applications yet.'],
  ];
  for (const [url, id, changed, content] of tables) {
    it(`reloads ${id} one way: it asks for itself when it hears ${changed}, and gets its fragment`, async () => {
      const page = await admin.get(url);
      expect(page.text).to.match(new RegExp(`<div id="${id}" hx-get="${url}" hx-trigger="${changed} from:body" hx-swap="outerHTML">`));
      expect(page.text, 'no table is picked out of a full page').to.not.contain('hx-select');
      const fragment = await admin.get(url).set(region(id));
      expect(fragment.status).to.equal(200);
      expect(fragment.text)
        .to.match(new RegExp(`^<div id="${id}"`))
        .and.contain(content)
        .and.not.contain('<html');
      // Boosted navigation to the same URL is a page, whatever it aims at.
      const boosted = await admin.get(url).set({ ...region(id), 'HX-Request-Type': 'full' });
      expect(boosted.text).to.contain('<html');
    });
  }

  it("reloads a thing's page when things of its kind change: a group's, an application's, a user's header and tab", async () => {
    const groupId = await ensureGroup(t.db, 'Engineering', false);
    const groupPage = await admin.get(`/directory/groups/${groupId}`);
    expect(groupPage.text).to.contain(
      `<div id="group-page" hx-get="/directory/groups/${groupId}" hx-trigger="groups-changed from:body" hx-swap="outerHTML">`,
    );
    const group = await admin.get(`/directory/groups/${groupId}`).set(region('group-page'));
    expect(group.text)
      .to.match(/^<div id="group-page"/)
      .and.contain('<h1>Engineering')
      .and.not.contain('<html');

    await post('/applications', { ...application, name: 'Wiki', slug: 'wiki' });
    const appId = await idOf('applications', { slug: 'wiki' });
    const appPage = await admin.get(`/applications/${appId}`);
    expect(appPage.text).to.contain(
      `<div id="application-page" hx-get="/applications/${appId}" hx-trigger="applications-changed from:body" hx-swap="outerHTML">`,
    );
    const app = await admin.get(`/applications/${appId}`).set(region('application-page'));
    expect(app.text)
      .to.match(/^<div id="application-page"/)
      .and.contain('<h1>Wiki</h1>')
      .and.not.contain('<html');

    const userId = await insertUser(t.db, { username: 'ana', path: 'users' });
    await post(`/directory/users/${userId}/activation`, { is_active: 'false' }, MODAL);
    const tab = await admin.get(`/directory/users/${userId}/sessions`).set(region('user-tabs'));
    expect(tab.text).to.match(
      /^<div id="user-tabs" hx-get="\/directory\/users\/\d+\/sessions" hx-trigger="tab-changed from:body, users-changed from:body"/,
    );
    expect(tab.text)
      .to.contain('<hx-partial hx-target="#user-header" hx-swap="outerHTML"><header id="user-header"')
      .and.contain('>Activate</a>');
  });

  it("sends a gone thing's page to its list, with a note; a dialog about it leaves the page alone", async () => {
    const userId = await insertUser(t.db, { username: 'ana', path: 'users' });
    const groupId = await ensureGroup(t.db, 'Engineering', false);
    await post('/applications', { ...application, name: 'Wiki', slug: 'wiki' });
    const appId = await idOf('applications', { slug: 'wiki' });
    await post('/directory/users/delete', { ids: String(userId) }, MODAL);
    await post('/directory/groups/delete', { ids: String(groupId) }, MODAL);
    await post('/applications/delete', { ids: String(appId) }, MODAL);

    for (const [url, id, list, note] of [
      [`/directory/users/${userId}`, 'user-tabs', '/directory/users', 'There is no such user.'],
      [`/directory/users/${userId}/events`, 'user-tabs', '/directory/users', 'There is no such user.'],
      [`/directory/groups/${groupId}`, 'group-page', '/directory/groups', 'There is no such group.'],
      [`/applications/${appId}`, 'application-page', '/applications', 'There is no such application.'],
    ]) {
      const res = await admin.get(url).set(region(id));
      expect(res.status, url).to.equal(404);
      expect(res.headers['hx-redirect'], url).to.equal(list);
      expect((await admin.get(list)).text, url).to.contain(note);
    }

    const dialog = await admin.get(`/directory/users/${userId}/edit`).set(MODAL);
    expect(dialog.status).to.equal(404);
    expect(dialog.headers['hx-redirect']).to.equal(undefined);
    expect(dialog.headers['hx-reswap']).to.equal('none');
    expect(dialog.text).to.contain('There is no such user.');
    expect((await admin.get(`/directory/users/${userId}`)).status, 'a page, without htmx, is a 404 page').to.equal(404);
  });
});
