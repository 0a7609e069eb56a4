import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { insertUser } from '../../app/directory/users/users.js';
import { recordLogin } from '../../app/identity/identity.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

const XSS = '<script>alert(1)</script>';

function usernamesIn(html: string): string[] {
  return [...html.matchAll(/<a href="\/directory\/users\/\d+" hx-boost="false">([^<]*)<\/a>/g)].map((m) => m[1]);
}

function relLink(html: string, rel: 'next' | 'prev'): string | undefined {
  const match = new RegExp(`<a rel="${rel}" href="([^"]+)"`).exec(html);
  return match?.[1].replace(/&amp;/g, '&');
}

describe('Directory > Users', () => {
  let t: TestApp;
  let agent: TestAgent;
  let adminId: number;

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', name: 'Admin', admin: true, path: 'admins' });
    agent = agentFor(t.app);
    await login(agent, 'akadmin');
  });
  afterEach(() => t.close());

  async function post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return agent
      .post(url)
      .type('form')
      .set(headers)
      .send({ _csrf: await csrfOf(agent), ...fields });
  }

  describe('list', () => {
    beforeEach(async () => {
      await insertUser(t.db, { username: 'ana', name: 'Ana Müller', email: 'ana@corp.example', path: 'users/staff' });
      await insertUser(t.db, { username: 'ben', name: 'Benedict', email: 'mail@ben.example', path: 'users/staff/eng' });
      await insertUser(t.db, { username: 'cleo', name: 'Cleo', email: 'cleo@x.example', path: 'users2' });
      await insertUser(t.db, { username: 'dora', name: 'Dora', email: 'dora@x.example', path: 'users', isActive: false });
    });

    it('renders the full page, with the folder tree built from the paths', async () => {
      const res = await agent.get('/directory/users');
      expect(res.status).to.equal(200);
      expect(res.headers.vary).to.contain('HX-Request');
      expect(res.text).to.contain('<html').and.contain('User folders');
      for (const folder of ['admins', 'users', 'staff', 'eng', 'users2']) expect(res.text).to.contain(`>${folder}</a>`);
      expect(usernamesIn(res.text)).to.deep.equal(['akadmin', 'ana', 'ben', 'cleo']);
      expect(res.text).to.contain('Ana Müller');
    });

    it('answers an htmx request for the table with the fragment only', async () => {
      const res = await agent.get('/directory/users?q=an').set('HX-Request', 'true').set('HX-Target', 'div#users-table');
      expect(res.status).to.equal(200);
      expect(res.headers.vary).to.contain('HX-Request');
      expect(res.text).to.not.contain('<html');
      expect(res.text).to.match(/^<div id="users-table"/);
      expect(res.text).to.contain('<hx-partial hx-target="#user-folders"');
      expect(usernamesIn(res.text)).to.deep.equal(['ana']);
      // A boosted navigation to the same URL gets the whole page.
      const boosted = await agent.get('/directory/users?q=an').set('HX-Request', 'true').set('HX-Boosted', 'true');
      expect(boosted.text).to.contain('<html');
    });

    it('says how many users it shows, in the toolbar and in the live region, on the page and in the fragment', async () => {
      const countIn = (html: string) => ({
        toolbar: /<p class="list-count">([^<]*)<\/p>/.exec(html)?.[1],
        status: /<p id="users-status"[^>]*>([^<]*)<\/p>/.exec(html)?.[1],
        partial: /<hx-partial hx-target="#users-status" hx-swap="innerHTML">([^<]*)<\/hx-partial>/.exec(html)?.[1],
      });
      expect(countIn((await agent.get('/directory/users')).text)).to.deep.equal({
        toolbar: '4 users',
        status: '4 users',
        partial: undefined,
      });
      const fragment = async (query: string) =>
        countIn((await agent.get(`/directory/users${query}`).set('HX-Request', 'true').set('HX-Target', 'div#users-table')).text);
      expect(await fragment('?q=cleo')).to.deep.equal({ toolbar: '1 user', status: undefined, partial: '1 user' });
      expect(await fragment('?q=zzz')).to.deep.equal({ toolbar: 'No users match', status: undefined, partial: 'No users match' });
      expect(await fragment('?active=all')).to.deep.equal({ toolbar: '5 users', status: undefined, partial: '5 users' });
    });

    it('counts across pages: the rows a page shows, of how many', async () => {
      for (let i = 0; i < 55; i++) await insertUser(t.db, { username: `bulk${String(i).padStart(2, '0')}`, path: 'bulk' });
      const count = (html: string) => /<p class="list-count">([^<]*)<\/p>/.exec(html)?.[1];
      const first = await agent.get('/directory/users?path=bulk');
      // Exact for so few, or a lower bound where an implementation stops counting early.
      expect(count(first.text)).to.match(/^1–50 of (55|[\d,]+\+) users$/);
      const second = await agent.get(relLink(first.text, 'next')!);
      expect(count(second.text)).to.equal('51–55 of 55 users');
      expect(count((await agent.get(relLink(second.text, 'prev')!)).text)).to.equal(count(first.text));
    });

    it('filters a folder with everything below it, and not a sibling sharing its prefix', async () => {
      const res = await agent.get('/directory/users?path=users');
      expect(usernamesIn(res.text)).to.deep.equal(['ana', 'ben']);
      expect((await agent.get('/directory/users?path=users/staff/eng')).text).to.contain('>ben</a>');
      expect(usernamesIn((await agent.get('/directory/users?path=users2')).text)).to.deep.equal(['cleo']);
      expect(res.text).to.contain('href="/directory/users/new?path=users"');
    });

    it('searches by the start of username, name and email', async () => {
      expect(usernamesIn((await agent.get('/directory/users?q=cle')).text)).to.deep.equal(['cleo']);
      expect(usernamesIn((await agent.get('/directory/users?q=bened')).text)).to.deep.equal(['ben']);
      expect(usernamesIn((await agent.get('/directory/users?q=BENED')).text)).to.deep.equal(['ben']);
      expect(usernamesIn((await agent.get('/directory/users?q=mail%40ben')).text)).to.deep.equal(['ben']);
      expect(usernamesIn((await agent.get('/directory/users?q=%25')).text)).to.deep.equal([]);
      expect(usernamesIn((await agent.get('/directory/users?q=_')).text)).to.deep.equal([]);
      expect((await agent.get('/directory/users?q=zzz')).text).to.contain('No users match this search.');
    });

    it('hides deactivated users unless asked to show them', async () => {
      expect((await agent.get('/directory/users')).text).to.not.contain('>dora</a>');
      const all = await agent.get('/directory/users?active=all');
      expect(usernamesIn(all.text)).to.include('dora');
      expect(all.text).to.match(/name="active" value="all" checked/);
    });

    it('sorts by name, last login and active, both ways', async () => {
      const idOf = async (username: string) => (await t.db('users').where({ username }).first('id'))!.id;
      await recordLogin(t.db, await idOf('ben'), new Date('2026-01-01'));
      await recordLogin(t.db, await idOf('ana'), new Date('2026-02-01'));
      const names = async (query: string) => usernamesIn((await agent.get(`/directory/users?active=all&${query}`)).text);
      expect(await names('sort=name')).to.deep.equal(['akadmin', 'ana', 'ben', 'cleo', 'dora']);
      expect(await names('sort=-username')).to.deep.equal(['dora', 'cleo', 'ben', 'ana', 'akadmin']);
      expect(await names('sort=-last_login')).to.deep.equal(['akadmin', 'ana', 'ben', 'dora', 'cleo']);
      expect(await names('sort=is_active')).to.deep.equal(['dora', 'akadmin', 'ana', 'ben', 'cleo']);
      const page = await agent.get('/directory/users?sort=-last_login');
      expect(page.text).to.contain('aria-sort="descending"');
    });
  });

  describe('paging', () => {
    beforeEach(async () => {
      const stamp = Date.UTC(2026, 0, 1);
      for (let i = 0; i < 130; i++) {
        const id = await insertUser(t.db, { username: `u${String(i).padStart(3, '0')}`, name: `Name ${i % 7}`, path: 'bulk' });
        // Some never logged in (NULL), some share a timestamp: the keyset must handle both.
        if (i % 3) await recordLogin(t.db, id, new Date(stamp + (i % 10) * 60_000));
      }
    });

    for (const sort of ['', 'name', '-name', 'last_login', '-last_login', 'is_active', '-username']) {
      it(`shows every user exactly once, forwards and back (sort=${sort || 'username'})`, async () => {
        let url: string | undefined = `/directory/users?path=bulk${sort ? `&sort=${sort}` : ''}`;
        const pages: string[][] = [];
        while (url) {
          const res = await agent.get(url);
          pages.push(usernamesIn(res.text));
          url = relLink(res.text, 'next');
          expect(pages.length).to.be.below(10);
        }
        const seen = pages.flat();
        expect(pages.map((p) => p.length)).to.deep.equal([50, 50, 30]);
        expect(new Set(seen).size).to.equal(130);
        // Walking back with rel="prev" from the last page gives the same pages.
        let back = relLink((await agent.get(`/directory/users?path=bulk${sort ? `&sort=${sort}` : ''}`)).text, 'next');
        back = relLink((await agent.get(back!)).text, 'next');
        const last = await agent.get(back!);
        const prev = await agent.get(relLink(last.text, 'prev')!);
        expect(usernamesIn(prev.text)).to.deep.equal(pages[1]);
        const first = await agent.get(relLink(prev.text, 'prev')!);
        expect(usernamesIn(first.text)).to.deep.equal(pages[0]);
        expect(relLink(first.text, 'prev')).to.equal(undefined);
      });
    }

    it('pages a search by best match: usernames that start with it, then the other matches; each user once, forwards and back', async () => {
      const pad = (i: number) => String(i).padStart(3, '0');
      // 60 match by username (and by email too), 40 by name only, 30 by email only.
      for (let i = 0; i < 60; i++)
        await insertUser(t.db, { username: `mx${pad(i)}`, name: `Someone ${i}`, email: `mx${pad(i)}@example.com`, path: 'bulk' });
      for (let i = 0; i < 40; i++)
        await insertUser(t.db, { username: `n${pad(i)}`, name: `Mx Name ${pad(i)}`, email: `n${i}@example.com`, path: 'bulk' });
      for (let i = 0; i < 30; i++)
        await insertUser(t.db, { username: `e${pad(i)}`, name: `Other ${i}`, email: `mxz${pad(i)}@example.com`, path: 'bulk' });
      const expected = [
        ...Array.from({ length: 60 }, (_, i) => `mx${pad(i)}`),
        // The other matches, by username: a word of the e-mail ("mxz…"), then of the name ("Mx").
        ...Array.from({ length: 30 }, (_, i) => `e${pad(i)}`),
        ...Array.from({ length: 40 }, (_, i) => `n${pad(i)}`),
      ];

      const pages: string[][] = [];
      const responses: string[] = [];
      for (let url: string | undefined = '/directory/users?q=mx'; url; url = relLink(responses[responses.length - 1], 'next')) {
        responses.push((await agent.get(url)).text);
        pages.push(usernamesIn(responses[responses.length - 1]));
        expect(pages.length).to.be.below(10);
      }
      expect(pages.flat()).to.deep.equal(expected);
      expect(pages.map((p) => p.length)).to.deep.equal([50, 50, 30]);
      expect(responses[0]).to.contain('sorted by best match');
      const back = await agent.get(relLink(responses[2], 'prev')!);
      expect(usernamesIn(back.text)).to.deep.equal(pages[1]);
      expect(usernamesIn((await agent.get(relLink(back.text, 'prev')!)).text)).to.deep.equal(pages[0]);

      // A chosen sort orders all matches by it instead.
      const byUsername = await agent.get('/directory/users?q=mx&sort=username');
      expect(usernamesIn(byUsername.text).slice(0, 3)).to.deep.equal(['e000', 'e001', 'e002']);
      expect(byUsername.text).to.contain('aria-sort="ascending"');
    });

    it('carries rel links in fragments too, and ignores a page token it cannot read', async () => {
      const res = await agent.get('/directory/users?path=bulk').set('HX-Request', 'true').set('HX-Target', 'div#users-table');
      expect(relLink(res.text, 'next')).to.match(/page=/);
      expect(res.text).to.contain('hx-push-url:inherited="true"');
      const bad = await agent.get('/directory/users?path=bulk&page=%7Bnot-a-token');
      expect(bad.status).to.equal(200);
      expect(usernamesIn(bad.text)[0]).to.equal('u000');
    });
  });

  describe('create', () => {
    const valid = {
      username: 'newbie',
      path: 'users/staff',
      name: 'New Bie',
      email: 'new@example.com',
      attributes: 'team: blue',
      is_active: 'true',
      type: 'external',
    };

    it('shows the form with the path of the selected folder, as a page and as an htmx modal', async () => {
      const page = await agent.get('/directory/users/new?path=users/staff');
      expect(page.status).to.equal(200);
      expect(page.text).to.contain('<html').and.contain('name="path" value="users/staff"');
      expect(page.text).to.match(/name="is_active" value="true" checked/);
      const modal = await agent.get('/directory/users/new?path=users/staff').set('HX-Request', 'true').set('HX-Target', 'div#modal');
      expect(modal.text).to.match(/^<dialog class="modal"/);
      expect(modal.text).to.contain('hx-post="/directory/users"');
    });

    it('creates the user, records model_created and confirms with a toast that links to the user', async () => {
      const res = await post('/directory/users', valid);
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal('/directory/users?path=users%2Fstaff');
      const user = await t.db('users').where({ username: 'newbie' }).first();
      expect(user).to.include({ path: 'users/staff', name: 'New Bie', email: 'new@example.com', type: 'external' });
      expect(JSON.parse(user!.attributes)).to.deep.equal({ team: 'blue' });
      expect(Boolean(user!.is_active)).to.equal(true);
      const list = await agent.get(res.headers.location);
      expect(list.text).to.contain('User newbie created.').and.contain(`href="/directory/users/${user!.id}">Open user</a>`);
      expect(usernamesIn(list.text)).to.include('newbie');
      const event = await t.db('events').where({ action: 'model_created' }).first();
      expect(event!.user_pk).to.equal(adminId);
      expect(JSON.parse(event!.context).model).to.include({ model_name: 'user', pk: user!.id, name: 'newbie' });
    });

    it('from the htmx modal: closes it, refreshes the table by event and shows the toast', async () => {
      const res = await post('/directory/users', valid, { 'HX-Request': 'true', 'HX-Target': 'div#modal' });
      expect(res.status).to.equal(200);
      expect(res.headers['hx-trigger']).to.equal('users-changed');
      expect(res.text)
        .to.match(/^<hx-partial hx-target="#toasts"/)
        .and.contain('User newbie created.');
    });

    it('creates an inactive user when the box is unchecked, and an active one when a program leaves the field out', async () => {
      await post('/directory/users', { ...valid, username: 'off', is_active: 'false' });
      await post('/directory/users', { username: 'program', path: 'users' });
      expect(Boolean((await t.db('users').where({ username: 'off' }).first())!.is_active)).to.equal(false);
      const program = await t.db('users').where({ username: 'program' }).first();
      expect(Boolean(program!.is_active)).to.equal(true);
      expect(program!.attributes).to.equal('{}');
    });

    const bad: [string, Record<string, string>, string, string][] = [
      ['bad YAML', { attributes: 'a: [1, 2' }, 'attributes', 'not valid YAML or JSON'],
      ['a YAML list', { attributes: '- a\n- b' }, 'attributes', 'must be a mapping'],
      ['a JSON string', { attributes: '"text"' }, 'attributes', 'must be a mapping'],
      ['a path with //', { path: 'users//staff' }, 'path', 'empty segment'],
      ['a leading /', { path: '/users' }, 'path', 'cannot start or end with /'],
      ['a trailing /', { path: 'users/' }, 'path', 'cannot start or end with /'],
      ['an empty path', { path: '' }, 'path', 'Enter a path'],
      ['an over-long username', { username: 'x'.repeat(151) }, 'username', 'at most 150 characters'],
      ['an empty username', { username: '   ' }, 'username', 'Enter a username'],
      ['a control character', { username: 'bad\u0007name' }, 'username', 'control characters'],
      ['a bad email', { email: 'not-an-email' }, 'email', 'Enter an e-mail address'],
      ['an unknown type', { type: 'robot' }, 'type', 'Choose internal, external or service account'],
    ];
    for (const [what, change, field, message] of bad) {
      it(`refuses ${what} with 422, a message on the field and every typed value kept`, async () => {
        const fields = { ...valid, ...change };
        const res = await post('/directory/users', fields);
        expect(res.status).to.equal(422);
        expect(res.text).to.contain(`id="${field}-error"`).and.contain(message);
        expect(res.text).to.match(
          new RegExp(`name="${field}"[^>]*aria-invalid="true"|id="f-${field}" name="${field}"[^>]*aria-invalid="true"`),
        );
        for (const [key, value] of Object.entries(fields)) {
          if (['is_active', 'type'].includes(key)) continue;
          const escaped = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;');
          expect(res.text, key).to.contain(key === 'attributes' ? `>${escaped}</textarea>` : `value="${escaped}"`);
        }
        expect(await t.db('users').where({ username: fields.username }).first()).to.equal(undefined);
      });
    }

    it('refuses a taken username through the unique index, in any folder, keeping the typed values', async () => {
      await insertUser(t.db, { username: 'taken', path: 'elsewhere' });
      const res = await post('/directory/users', { ...valid, username: 'taken' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('This username is taken').and.contain('value="New Bie"');
      // Usernames are case-sensitive: another case is another user.
      expect((await post('/directory/users', { ...valid, username: 'Taken' })).status).to.equal(303);
    });

    it('names a taken username together with the other problems', async () => {
      const res = await post('/directory/users', { ...valid, username: 'akadmin', path: '/bad' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('This username is taken').and.contain('cannot start or end with /');
    });

    it('re-renders the modal with the errors for htmx (422 is swapped in place)', async () => {
      const res = await post('/directory/users', { ...valid, path: 'a//b' }, { 'HX-Request': 'true', 'HX-Target': 'div#modal' });
      expect(res.status).to.equal(422);
      expect(res.text)
        .to.match(/^<dialog class="modal"/)
        .and.contain('empty segment');
    });
  });

  describe('detail, edit and quick edit', () => {
    let userId: number;
    beforeEach(async () => {
      userId = await insertUser(t.db, {
        username: 'ana',
        name: 'Ana',
        email: 'ana@example.com',
        path: 'users',
        attributes: { team: 'red' },
      });
    });

    it('shows the overview with every field and the attributes', async () => {
      const res = await agent.get(`/directory/users/${userId}`);
      expect(res.status).to.equal(200);
      expect(res.text).to.contain('ana@example.com').and.contain('team: red').and.contain('aria-current="page">Overview');
      expect(res.text).to.contain(`href="/directory/users/${userId}/edit"`);
    });

    it('answers 404 for an unknown or malformed id', async () => {
      expect((await agent.get('/directory/users/999999')).status).to.equal(404);
      expect((await agent.get('/directory/users/abc')).status).to.equal(404);
      expect((await post('/directory/users/999999', { username: 'x', path: 'users' })).status).to.equal(404);
    });

    it('edits on its own page: saved, event lists the changed fields, back to the detail page', async () => {
      const form = await agent.get(`/directory/users/${userId}/edit`);
      expect(form.text).to.contain('value="ana"').and.contain('team: red');
      const res = await post(`/directory/users/${userId}`, {
        username: 'ana',
        path: 'users/moved',
        name: 'Ana M',
        email: 'ana@example.com',
        attributes: 'team: red',
        is_active: 'true',
        type: 'internal',
      });
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal(`/directory/users/${userId}`);
      expect((await agent.get(res.headers.location)).text).to.contain('User ana updated.');
      const event = await t.db('events').where({ action: 'model_updated' }).first();
      expect(JSON.parse(event!.context).changed).to.deep.equal(['path', 'name']);
      expect((await t.db('users').where({ id: userId }).first())!.path).to.equal('users/moved');
    });

    it('quick edit from the list closes the modal with a toast, and the table, hearing users-changed, shows the row changed', async () => {
      const modal = await agent.get(`/directory/users/${userId}/edit`).set('HX-Request', 'true').set('HX-Target', 'div#modal');
      expect(modal.text)
        .to.match(/^<dialog class="modal"/)
        .and.contain(`hx-post="/directory/users/${userId}"`);
      const res = await post(
        `/directory/users/${userId}`,
        {
          username: 'ana',
          path: 'users',
          name: 'Ana Renamed',
          email: 'ana@example.com',
          attributes: '{team: red}',
          is_active: 'true',
          type: 'internal',
        },
        { 'HX-Request': 'true', 'HX-Target': 'div#modal', 'HX-Current-URL': 'http://127.0.0.1/directory/users?path=users' },
      );
      expect(res.status).to.equal(200);
      expect(res.headers['hx-trigger']).to.equal('users-changed');
      expect(res.headers['hx-reswap']).to.contain('swapEmpty:true');
      expect(res.text)
        .to.match(/^<hx-partial hx-target="#toasts"/)
        .and.contain('User ana updated.');
      // The table listens for users-changed and asks for itself: the row comes back changed, in its table.
      const table = await agent.get('/directory/users?path=users').set('HX-Request', 'true').set('HX-Target', 'div#users-table');
      expect(table.text).to.match(/^<div id="users-table"[^>]*hx-trigger="users-changed from:body"/);
      expect(table.text)
        .to.match(new RegExp(`<tbody[^>]*>\\s*<tr id="user-row-${userId}"`))
        .and.contain('Ana Renamed');
    });

    it("an edit from the user's page answers the same; the page's tab region, hearing users-changed, brings the header too", async () => {
      const res = await post(
        `/directory/users/${userId}`,
        { username: 'ana', path: 'users', name: 'Ana Again' },
        { 'HX-Request': 'true', 'HX-Target': 'div#modal', 'HX-Current-URL': `http://127.0.0.1/directory/users/${userId}` },
      );
      expect(res.status).to.equal(200);
      expect(res.headers['hx-trigger']).to.equal('users-changed');
      expect(res.text).to.contain('User ana updated.');
      const page = await agent.get(`/directory/users/${userId}`);
      expect(page.text)
        .to.contain('<header id="user-header"')
        .and.match(/<div id="user-tabs"[^>]*hx-trigger="[^"]*users-changed from:body/);
      const region = await agent.get(`/directory/users/${userId}`).set('HX-Request', 'true').set('HX-Target', 'div#user-tabs');
      expect(region.text)
        .to.match(/^<div id="user-tabs"/)
        .and.not.contain('<html');
      expect(region.text)
        .to.contain('<hx-partial hx-target="#user-header" hx-swap="outerHTML"><header id="user-header"')
        .and.contain('Ana Again');
    });

    it('without JavaScript, saving returns to the list the form was opened from, with its folder, search and page', async () => {
      const list = '/directory/users?path=users&q=an&page=2';
      const form = await agent.get(`/directory/users/${userId}/edit?from=${encodeURIComponent(list)}`);
      expect(form.text).to.contain('<input type="hidden" name="from" value="/directory/users?path=users&amp;q=an&amp;page=2">');
      const fromReferer = await agent
        .get(`/directory/users/${userId}/edit`)
        .set('Host', 'roster.test')
        .set('Referer', `http://roster.test${list}`);
      expect(fromReferer.text).to.contain('name="from" value="/directory/users?path=users&amp;q=an&amp;page=2"');
      const refused = await post(`/directory/users/${userId}`, { username: '', from: list });
      expect(refused.status).to.equal(422);
      expect(refused.text, 'a refused form keeps where it goes back to').to.contain(
        'name="from" value="/directory/users?path=users&amp;q=an&amp;page=2"',
      );
      const saved = await post(`/directory/users/${userId}`, { name: 'Ana Listed', from: list });
      expect(saved.status).to.equal(303);
      expect(saved.headers.location).to.equal(list);
      expect((await agent.get(list)).text).to.contain('User ana updated.');
      const elsewhere = await post(`/directory/users/${userId}`, { name: 'Ana Safe', from: '//evil.example/x' });
      expect(elsewhere.headers.location).to.equal(`/directory/users/${userId}`);
    });

    it('keeps fields a program leaves out', async () => {
      await post(`/directory/users/${userId}`, { name: 'Only the name' });
      const row = await t.db('users').where({ id: userId }).first();
      expect(row).to.include({ name: 'Only the name', email: 'ana@example.com', path: 'users' });
      expect(JSON.parse(row!.attributes)).to.deep.equal({ team: 'red' });
    });

    it("deactivating through the form ends the user's sessions; an admin cannot deactivate themselves", async () => {
      await createUser(t.db, { username: 'sam' });
      const sam = agentFor(t.app);
      await login(sam, 'sam');
      const samId = (await t.db('users').where({ username: 'sam' }).first())!.id;
      await post(`/directory/users/${samId}`, { is_active: 'false' });
      expect((await sam.get('/me')).status).to.equal(303);
      const self = await post(`/directory/users/${adminId}`, { is_active: 'false' });
      expect(self.status).to.equal(422);
      expect(self.text).to.contain('You cannot deactivate your own account');
    });

    it('refuses renaming to a taken username with 422', async () => {
      const res = await post(`/directory/users/${userId}`, { username: 'akadmin' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('This username is taken');
    });
  });

  it('exports the filtered list as CSV, streamed, with fields quoted and formulas defused', async () => {
    await insertUser(t.db, { username: 'ana', name: 'Müller, Ana "the admin"', email: 'ana@example.com', path: 'users/staff' });
    await insertUser(t.db, { username: 'ben', name: '=HYPERLINK("x")', path: 'users/staff/eng' });
    await insertUser(t.db, { username: 'cleo', path: 'elsewhere' });
    const res = await agent.get('/directory/users/export.csv?path=users');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.contain('text/csv');
    expect(res.headers['content-disposition']).to.contain('attachment; filename=users-users.csv');
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).to.equal('id,uuid,username,name,email,is_active,path,type,last_login,date_joined');
    expect(lines).to.have.length(3);
    expect(lines[1]).to.contain(',ana,"Müller, Ana ""the admin""",ana@example.com,true,users/staff,internal,,');
    expect(lines[2]).to.contain(`,ben,"'=HYPERLINK(""x"")",`);
    expect((await agent.get('/directory/users/export.csv?q=cle')).text).to.contain(',cleo,');
  });

  it('exports every matching user exactly once when there are more than one read of rows', async () => {
    const now = new Date();
    await t.db.batchInsert(
      'users',
      Array.from({ length: 4500 }, (_, i) => ({
        uuid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
        username: `bulk${String(i).padStart(5, '0')}`,
        name: `Bulk ${i}`,
        email: '',
        is_active: i % 10 !== 0,
        path: 'bulk',
        type: 'internal',
        attributes: '{}',
        date_joined: now,
        last_updated: now,
      })) as never,
      400,
    );
    const all = (await agent.get('/directory/users/export.csv?path=bulk&active=all')).text.trim().split('\r\n').slice(1);
    const usernames = all.map((line) => line.split(',')[2]);
    expect(usernames).to.have.length(4500);
    expect(new Set(usernames).size).to.equal(4500);
    expect(usernames).to.deep.equal([...usernames].sort());
    const active = (await agent.get('/directory/users/export.csv?path=bulk')).text.trim().split('\r\n').slice(1);
    expect(active).to.have.length(4050);
  });

  it('escapes XSS payloads in every field wherever they are shown', async () => {
    const res = await post('/directory/users', {
      username: XSS,
      path: `p${XSS}`,
      name: XSS,
      email: '',
      attributes: `k: "${XSS}"`,
      is_active: 'true',
      type: 'internal',
    });
    expect(res.status).to.equal(303);
    const id = (await t.db('users').where({ username: XSS }).first())!.id;
    const pages = [
      await agent.get(res.headers.location),
      await agent.get('/directory/users'),
      await agent.get(`/directory/users/${id}`),
      await agent.get(`/directory/users/${id}/edit`),
      await post('/directory/users', { username: XSS, path: 'users', name: XSS }),
    ];
    for (const page of pages) {
      expect(page.text).to.not.contain(XSS);
      expect(page.text).to.contain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
  });

  it('is for administrators only', async () => {
    await createUser(t.db, { username: 'member' });
    const member = agentFor(t.app);
    await login(member, 'member');
    for (const url of ['/directory/users', '/directory/users/new', `/directory/users/${adminId}`, `/directory/users/${adminId}/edit`]) {
      expect((await member.get(url)).status, url).to.equal(403);
    }
    const res = await member
      .post('/directory/users')
      .type('form')
      .send({ _csrf: await csrfOf(member), username: 'x', path: 'users' });
    expect(res.status).to.equal(403);
  });
});
