import { expect } from 'chai';
import request from 'supertest';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { agentFor, createUser, login, type TestApp, testApp } from '../support/app.js';
import {
  BULK,
  ENTERPRISE,
  GROUP,
  newUser,
  patchOf,
  ROSTER,
  SCIM_JSON,
  type ScimClient,
  SEARCH,
  scimClient,
  USER,
} from '../support/scim.js';

describe('SCIM 2.0 at /scim/v2', function () {
  this.timeout(30_000);
  let t: TestApp;
  let scim: ScimClient;

  beforeEach(async () => {
    t = await testApp();
    scim = await scimClient(t, { identifier: 'entra' });
  });
  afterEach(() => t.close());

  const errorOf = (res: request.Response) => {
    expect(res.headers['content-type']).to.match(/^application\/scim\+json/);
    expect(res.body.schemas).to.deep.equal(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(res.body.status).to.equal(String(res.status));
    return res.body as { status: string; scimType?: string; detail: string };
  };

  const create = async (userName: string, extra: Record<string, unknown> = {}) => {
    const res = await scim.post('/Users', newUser(userName, extra));
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as Record<string, unknown> & { id: string; meta: { version: string; location: string } };
  };

  describe('authentication', () => {
    it('refuses a request without a token, with a SCIM error and WWW-Authenticate', async () => {
      const res = await request(t.app).get('/scim/v2/Users');
      expect(res.status).to.equal(401);
      expect(res.headers['www-authenticate']).to.match(/^Bearer/);
      expect(errorOf(res).detail).to.match(/Bearer/);
    });

    it('refuses an API-purpose token and an unknown one', async () => {
      const ownerId = await createUser(t.db, { username: 'api-owner', admin: true });
      const made = await createToken(
        t.db,
        { identifier: 'api', description: '', ownerId, expires: null },
        { id: ownerId, username: 'api-owner', email: '' },
      );
      if (!made.ok) throw new Error('token');
      const api = await request(t.app).get('/scim/v2/Users').set('Authorization', `Bearer ${made.key}`);
      expect(api.status).to.equal(403);
      expect(errorOf(api).detail).to.match(/not for SCIM/);
      const unknown = await request(t.app).get('/scim/v2/Users').set('Authorization', 'Bearer rst_nope');
      expect(unknown.status).to.equal(401);
    });

    it('refuses a token whose owner is no longer an administrator', async () => {
      const ownerId = await createUser(t.db, { username: 'plain' });
      const plain = await scimClient(t, { ownerId });
      expect((await plain.get('/Users')).status).to.equal(403);
    });
  });

  describe('discovery', () => {
    it('says what is supported', async () => {
      const res = await scim.get('/ServiceProviderConfig');
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^application\/scim\+json/);
      expect(res.body).to.deep.include({ patch: { supported: true }, etag: { supported: true }, sort: { supported: true } });
      expect(res.body.bulk).to.include({ supported: true, maxOperations: 1000 });
      expect(res.body.filter).to.include({ supported: true, maxResults: 1000 });
    });

    it('lists the resource types and schemas, each one also by itself', async () => {
      const types = await scim.get('/ResourceTypes');
      expect(types.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal(['User', 'Group']);
      expect((await scim.get('/ResourceTypes/User')).body.schemaExtensions).to.deep.include({ schema: ENTERPRISE, required: false });
      const schemas = await scim.get('/Schemas');
      expect(schemas.body.totalResults).to.equal(4);
      const user = await scim.get(`/Schemas/${USER}`);
      const userName = user.body.attributes.find((a: { name: string }) => a.name === 'userName');
      expect(userName).to.include({ required: true, uniqueness: 'server', caseExact: true });
      expect((await scim.get('/Schemas/urn:nothing')).status).to.equal(404);
      expect((await scim.get('/Nothing')).status).to.equal(404);
      const v1 = await request(t.app).get('/scim/v1/Users').set('Authorization', `Bearer ${scim.key}`);
      expect(v1.status).to.equal(400);
      expect(errorOf(v1).scimType).to.equal('invalidVers');
    });
  });

  describe('Users', () => {
    it('creates a user: 201, Location, ETag, meta; the web form’s rules apply', async () => {
      const res = await scim.post(
        '/Users',
        newUser('ana@example.com', {
          externalId: 'e-1',
          name: { givenName: 'Ana', familyName: 'Lima' },
          emails: [{ value: 'ana@example.com', type: 'work', primary: true }],
          [ENTERPRISE]: { department: 'Sales' },
          schemas: [USER, ENTERPRISE],
        }),
      );
      expect(res.status).to.equal(201);
      expect(res.headers.location).to.equal(res.body.meta.location);
      expect(res.headers.etag).to.equal(res.body.meta.version);
      expect(res.body).to.deep.include({ userName: 'ana@example.com', externalId: 'e-1', displayName: 'Ana Lima', active: true });
      expect(res.body[ENTERPRISE]).to.deep.equal({ department: 'Sales' });
      expect(res.body[ROSTER]).to.deep.include({ path: 'users', type: 'internal' });
      const row = (await t.db('users').where({ username: 'ana@example.com' }).first())!;
      expect(row).to.include({ external_id: 'e-1', provisioned_by: scim.tokenId, name: 'Ana Lima', email: 'ana@example.com' });
      const bad = await scim.post('/Users', newUser(' spaced\u202e'));
      expect(bad.status).to.equal(400);
      expect(errorOf(bad).scimType).to.equal('invalidValue');
      expect(errorOf(bad).detail).to.match(/^userName: /);
    });

    it('answers a taken userName with 409 uniqueness and changes nothing', async () => {
      await create('bob');
      const res = await scim.post('/Users', newUser('bob'));
      expect(res.status).to.equal(409);
      expect(errorOf(res).scimType).to.equal('uniqueness');
      expect(await t.db('users').where({ username: 'bob' }).count({ n: '*' }).first()).to.deep.include({ n: 1 });
    });

    it('refuses a wrong or missing schema and a body that is not an object', async () => {
      expect(errorOf(await scim.post('/Users', { userName: 'x' })).scimType).to.equal('invalidValue');
      expect(errorOf(await scim.post('/Users', { schemas: [USER, 'urn:x'], userName: 'x' })).scimType).to.equal('invalidValue');
      expect(errorOf(await scim.post('/Users', { schemas: [GROUP], displayName: 'x' })).scimType).to.equal('invalidValue');
      expect(errorOf(await scim.post('/Users', '[1,2]')).scimType).to.equal('invalidSyntax');
      expect(errorOf(await scim.post('/Users', '{"schemas": [')).scimType).to.equal('invalidSyntax');
    });

    it('keeps unknown attributes in the user’s attributes without returning them', async () => {
      const made = await create('carla', { favouriteColour: 'green' });
      expect(made).not.to.have.property('favouriteColour');
      const row = (await t.db('users').where({ username: 'carla' }).first())!;
      expect(JSON.parse(row.attributes).scim.unknown).to.deep.equal({ favouriteColour: 'green' });
    });

    it('sets a password the user then logs in with; it is never returned', async () => {
      const made = await create('dora', { password: 'a long enough secret' });
      expect(JSON.stringify(made)).not.to.contain('secret');
      const agent = agentFor(t.app);
      const res = await login(agent, 'dora', 'a long enough secret');
      expect(res.status).to.equal(303);
      const short = await scim.post('/Users', newUser('ed', { password: 'short' }));
      expect(errorOf(short).detail).to.match(/^password: /);
    });

    it('gets one user, 404 for others, 304 for a current If-None-Match', async () => {
      const made = await create('fay');
      const res = await scim.get(`/Users/${made.id}`);
      expect(res.status).to.equal(200);
      expect(res.body.id).to.equal(made.id);
      expect((await scim.get(`/Users/${made.id}`, { 'If-None-Match': made.meta.version })).status).to.equal(304);
      for (const id of ['999999', 'abc', '0', '1e3', '99999999999999999999', '__proto__'])
        expect(errorOf(await scim.get(`/Users/${id}`)).status).to.equal('404');
    });

    it('filters, pages, sorts and selects attributes', async () => {
      for (const name of ['gil', 'Gil', 'hana', 'ivo'])
        await create(name, { externalId: `x-${name}`, emails: [{ value: `${name}@example.com`, type: 'work' }] });
      const eq = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "gil"')}`);
      expect(eq.body).to.include({ totalResults: 1, startIndex: 1, itemsPerPage: 1 });
      expect(eq.body.schemas).to.deep.equal(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
      const ext = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "x-hana"')}`);
      expect(ext.body.Resources.map((r: { userName: string }) => r.userName)).to.deep.equal(['hana']);
      const ci = await scim.get(`/Users?filter=${encodeURIComponent('emails.value eq "GIL@example.com"')}`);
      expect(ci.body.totalResults).to.equal(2); // e-mails compare without case: gil@ and Gil@
      const page = await scim.get('/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2&attributes=userName');
      expect(page.body.totalResults).to.equal(5); // and the token's owner
      expect(page.body.Resources.map((r: { userName: string }) => r.userName)).to.deep.equal(['ivo', 'hana']); // after scim-owner-…
      expect(Object.keys(page.body.Resources[0]).sort()).to.deep.equal(['id', 'schemas', 'userName']);
      const excluded = await scim.get('/Users?excludedAttributes=emails,groups,meta&count=1');
      expect(excluded.body.Resources[0]).to.have.property('userName');
      expect(excluded.body.Resources[0]).not.to.have.any.keys('emails', 'groups', 'meta');
      const none = await scim.get('/Users?count=0');
      expect(none.body).to.include({ totalResults: 5, itemsPerPage: 0 });
      expect(errorOf(await scim.get('/Users?filter=userName%20eq')).scimType).to.equal('invalidFilter');
      expect(errorOf(await scim.get('/Users?filter=shoeSize%20eq%202')).scimType).to.equal('invalidFilter');
      expect(errorOf(await scim.get('/Users?count=ten')).scimType).to.equal('invalidValue');
      expect(errorOf(await scim.get('/Users?sortBy=phoneNumbers')).scimType).to.equal('invalidValue');
    });

    it('searches by POST, on /Users/.search and across types on /.search', async () => {
      await create('jon');
      await scim.post('/Groups', { schemas: [GROUP], displayName: 'jon-team' });
      const users = await scim.post('/Users/.search', { schemas: [SEARCH], filter: 'userName sw "jo"' });
      expect(users.body.totalResults).to.equal(1);
      const all = await scim.post('/.search', { schemas: [SEARCH], filter: 'meta.created pr' });
      expect(all.body.totalResults).to.equal(4); // and the token's owner and the administrators' group
      const both = await scim.post('/.search', { schemas: [SEARCH], filter: 'displayName sw "jon"' });
      expect(both.body.Resources.map((r: { displayName: string }) => r.displayName)).to.deep.equal(['jon-team']);
      expect(errorOf(await scim.post('/.search', { filter: 'x' })).scimType).to.equal('invalidValue');
    });

    it('replaces a user with PUT and keeps what Roster keeps beyond the core schema', async () => {
      const made = await create('kai', { externalId: 'k', title: 'Boss' });
      await t
        .db('users')
        .where({ username: 'kai' })
        .update({ path: 'users/staff', valid_until: new Date('2030-01-01T00:00:00Z') });
      const res = await scim.put(`/Users/${made.id}`, newUser('kai2', { displayName: 'Kai' }));
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ userName: 'kai2', displayName: 'Kai' });
      expect(res.body).not.to.have.any.keys('externalId', 'title');
      expect(res.body[ROSTER]).to.deep.equal({ path: 'users/staff', type: 'internal', validUntil: '2030-01-01T00:00:00.000Z' });
      const moved = await scim.put(`/Users/${made.id}`, newUser('kai2', { schemas: [USER, ROSTER], [ROSTER]: { path: 'users/ops' } }));
      expect(moved.body[ROSTER]).to.deep.equal({ path: 'users/ops', type: 'internal' });
    });

    it('patches the way Entra ID does: capitalised ops, "False", value-only replaces, filtered paths', async () => {
      const made = await create('lia', { emails: [{ value: 'lia@old.example', type: 'work', primary: true }] });
      const agent = agentFor(t.app);
      await t
        .db('users')
        .where({ username: 'lia' })
        .update({ password: (await t.db('users').where({ id: scim.ownerId }).first())!.password });
      await login(agent, 'lia');
      const res = await scim.patch(
        `/Users/${made.id}`,
        patchOf(
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'lia@new.example' },
          { op: 'Replace', value: { displayName: 'Lia N', 'name.givenName': 'Lia' } },
          { op: 'Replace', path: 'active', value: 'False' },
        ),
      );
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body).to.include({ active: false, displayName: 'Lia N' });
      expect(res.body.emails[0]).to.include({ value: 'lia@new.example', type: 'work' });
      const row = (await t
        .db('users')
        .where({ id: Number(made.id) })
        .first())!;
      expect(row).to.include({ email: 'lia@new.example', is_active: row.is_active ? 1 : 0 });
      expect(Boolean(row.is_active)).to.equal(false);
      expect(await t.db('sessions').where({ user_id: row.id }).count({ n: '*' }).first()).to.deep.include({ n: 0 });
      const events = await t.db('events').where({ action: 'model_updated' }).orderBy('id');
      const context = JSON.parse(events.at(-1)!.context);
      expect(context.via).to.deep.equal({ scim_token: 'entra', client: 'roster-tests/1.0' });
      expect(context.changed).to.include('is_active');
    });

    it('honours If-Match: 412 on a stale version, nothing changed', async () => {
      const made = await create('max');
      const stale = made.meta.version;
      await scim.patch(`/Users/${made.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'Max' }));
      const res = await scim.patch(`/Users/${made.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'Other' }), {
        'If-Match': stale,
      });
      expect(res.status).to.equal(412);
      expect(errorOf(res).detail).to.match(/has changed/);
      expect(
        (await t
          .db('users')
          .where({ id: Number(made.id) })
          .first())!.name,
      ).to.equal('Max');
      const current = (await scim.get(`/Users/${made.id}`)).headers.etag;
      expect((await scim.del(`/Users/${made.id}`, { 'If-Match': stale })).status).to.equal(412);
      expect((await scim.del(`/Users/${made.id}`, { 'If-Match': current })).status).to.equal(204);
    });

    it('refuses changes to read-only attributes and unknown paths', async () => {
      const made = await create('ned');
      expect(errorOf(await scim.patch(`/Users/${made.id}`, patchOf({ op: 'replace', path: 'id', value: '5' }))).scimType).to.equal(
        'mutability',
      );
      expect(errorOf(await scim.patch(`/Users/${made.id}`, patchOf({ op: 'replace', path: 'shoe.size', value: 5 }))).scimType).to.equal(
        'invalidPath',
      );
      expect(errorOf(await scim.patch(`/Users/${made.id}`, { Operations: [] })).status).to.equal('400');
    });

    it('deletes a user through the same code as the list’s delete; never the token’s owner', async () => {
      const made = await create('olga');
      expect((await scim.del(`/Users/${made.id}`)).status).to.equal(204);
      expect((await scim.get(`/Users/${made.id}`)).status).to.equal(404);
      const event = await t.db('events').where({ action: 'model_deleted' }).first();
      expect(JSON.parse(event!.context).via.scim_token).to.equal('entra');
      const self = await scim.del(`/Users/${scim.ownerId}`);
      expect(self.status).to.equal(400);
      expect(errorOf(self).detail).to.match(/your own account/);
    });
  });

  describe('Groups', () => {
    it('creates a group with members, then adds and removes members by PATCH, filtered paths included', async () => {
      const a = await create('pia');
      const b = await create('quin');
      const c = await create('rui');
      const made = await scim.post('/Groups', {
        schemas: [GROUP],
        displayName: 'Staff',
        externalId: 'g-1',
        members: [{ value: a.id, display: 'ignored' }],
      });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      expect(made.body.members).to.deep.equal([
        { value: a.id, $ref: `${made.body.meta.location.replace(/Groups\/\d+$/, '')}Users/${a.id}`, display: 'pia', type: 'User' },
      ]);
      const id = made.body.id;
      const added = await scim.patch(`/Groups/${id}`, patchOf({ op: 'add', path: 'members', value: [{ value: b.id }, { value: c.id }] }));
      expect(added.body.members.map((m: { value: string }) => m.value)).to.deep.equal([a.id, b.id, c.id]);
      const removed = await scim.patch(`/Groups/${id}`, patchOf({ op: 'remove', path: `members[value eq "${b.id}"]` }));
      expect(removed.body.members.map((m: { value: string }) => m.value)).to.deep.equal([a.id, c.id]);
      const entra = await scim.patch(`/Groups/${id}`, patchOf({ op: 'Remove', path: 'members', value: [{ value: a.id }] }));
      expect(entra.body.members.map((m: { value: string }) => m.value)).to.deep.equal([c.id]);
      const renamed = await scim.patch(
        `/Groups/${id}`,
        patchOf({ op: 'replace', value: { displayName: 'Staff 2', externalId: 'g-2', members: [{ value: a.id }] } }),
      );
      const event = await t
        .db('events')
        .where({ action: 'model_updated' })
        .where('context', 'like', '%"changed"%')
        .orderBy('id', 'desc')
        .first();
      expect(JSON.parse(event!.context).changed).to.deep.equal(['name', 'external_id']);
      expect(renamed.body).to.include({ displayName: 'Staff 2' });
      expect(renamed.body.members.map((m: { value: string }) => m.value)).to.deep.equal([a.id]);
      const user = await scim.get(`/Users/${a.id}`);
      expect(user.body.groups).to.deep.equal([{ value: id, $ref: made.body.meta.location, display: 'Staff 2', type: 'direct' }]);
      const values = await scim.get(`/Groups/${id}?excludedAttributes=members.display`);
      expect(values.body.members).to.deep.equal([
        { value: a.id, $ref: user.body.groups[0].$ref.replace(/Groups\/\d+$/, `Users/${a.id}`), type: 'User' },
      ]);
      const listed = await scim.get(
        `/Groups?attributes=${encodeURIComponent(`${GROUP}:members.value`)}&filter=${encodeURIComponent(`id eq "${id}"`)}`,
      );
      expect(listed.body.Resources[0].members).to.deep.equal([{ value: a.id }]);
      const listedWithout = await scim.get(`/Groups?excludedAttributes=members.display&filter=${encodeURIComponent(`id eq "${id}"`)}`);
      expect(listedWithout.body.Resources[0].members).to.deep.equal(values.body.members);
      const byMember = await scim.get(`/Groups?filter=${encodeURIComponent(`members[value eq "${a.id}"]`)}&excludedAttributes=members`);
      expect(byMember.body.totalResults).to.equal(1);
      expect(byMember.body.Resources[0]).not.to.have.property('members');
    });

    it('replaces a group with PUT the way Okta does, and deletes it', async () => {
      const a = await create('sam');
      const b = await create('tia');
      const made = await scim.post('/Groups', { schemas: [GROUP], displayName: 'Ops', members: [{ value: a.id }] });
      const put = await scim.put(`/Groups/${made.body.id}`, {
        schemas: [GROUP],
        id: made.body.id,
        displayName: 'Ops',
        members: [{ value: b.id, display: 'tia' }],
      });
      expect(put.status).to.equal(200);
      expect(put.body.members.map((m: { value: string }) => m.value)).to.deep.equal([b.id]);
      expect((await scim.del(`/Groups/${made.body.id}`)).status).to.equal(204);
      expect((await scim.get(`/Groups/${made.body.id}`)).status).to.equal(404);
    });

    it('names a failing operation by its place, and applies none of the request', async () => {
      const made = await scim.post('/Groups', { schemas: [GROUP], displayName: 'Ordered' });
      const res = await scim.patch(
        `/Groups/${made.body.id}`,
        patchOf({ op: 'replace', path: 'displayName', value: 'Renamed' }, { op: 'replace', path: 'nonsense', value: 1 }),
      );
      expect(errorOf(res).detail).to.match(/^Operation 2:/);
      expect((await scim.get(`/Groups/${made.body.id}`)).body.displayName).to.equal('Ordered');
    });

    it('refuses a taken name (409), an unknown member (400) and changes nothing', async () => {
      await scim.post('/Groups', { schemas: [GROUP], displayName: 'Dup' });
      const dup = await scim.post('/Groups', { schemas: [GROUP], displayName: 'Dup' });
      expect(errorOf(dup).scimType).to.equal('uniqueness');
      const bad = await scim.post('/Groups', { schemas: [GROUP], displayName: 'Ghosts', members: [{ value: '999999' }] });
      expect(errorOf(bad).scimType).to.equal('invalidValue');
      expect(await t.db('groups').where({ name: 'Ghosts' }).first()).to.equal(undefined);
    });
  });

  describe('a token bound to a folder', () => {
    it('creates in its folder, sees and changes only users there and below, and only its own groups', async () => {
      const hr = await scimClient(t, { path: 'hr', identifier: 'hr-idp' });
      const inside = await hr.post('/Users', newUser('uma'));
      expect(inside.body[ROSTER].path).to.equal('hr');
      const deeper = await hr.post('/Users', newUser('vic', { [ROSTER]: { path: 'hr/contractors' }, schemas: [USER, ROSTER] }));
      expect(deeper.status).to.equal(201);
      const outside = await hr.post('/Users', newUser('wes', { [ROSTER]: { path: 'hrx' }, schemas: [USER, ROSTER] }));
      expect(errorOf(outside).scimType).to.equal('invalidValue');
      const other = await create('xia');
      expect((await hr.get(`/Users/${other.id}`)).status).to.equal(404);
      expect((await hr.patch(`/Users/${other.id}`, patchOf({ op: 'replace', path: 'active', value: false }))).status).to.equal(404);
      expect((await hr.get('/Users')).body.totalResults).to.equal(2);
      const theirs = await scim.post('/Groups', { schemas: [GROUP], displayName: 'Theirs' });
      expect((await hr.get(`/Groups/${theirs.body.id}`)).status).to.equal(404);
      const mine = await hr.post('/Groups', { schemas: [GROUP], displayName: 'HR', members: [{ value: other.id }] });
      expect(errorOf(mine).scimType).to.equal('invalidValue');
      expect((await hr.get('/Groups')).body.totalResults).to.equal(0);
    });
  });

  describe('Bulk', () => {
    it('runs operations in order, resolves bulkIds (also ahead), and answers each', async () => {
      const res = await scim.post('/Bulk', {
        schemas: [BULK],
        Operations: [
          {
            method: 'POST',
            path: '/Groups',
            bulkId: 'g',
            data: { schemas: [GROUP], displayName: 'Bulk team', members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u2' }] },
          },
          { method: 'POST', path: '/Users', bulkId: 'u1', data: newUser('yan') },
          { method: 'POST', path: '/Users', bulkId: 'u2', data: newUser('zoe') },
          { method: 'PATCH', path: '/Users/bulkId:u2', data: patchOf({ op: 'replace', path: 'displayName', value: 'Zoe' }) },
          { method: 'POST', path: '/Users', bulkId: 'dup', data: newUser('yan') },
        ],
      });
      expect(res.status).to.equal(200);
      const ops = res.body.Operations as { bulkId?: string; status: string; location?: string; response?: { scimType?: string } }[];
      expect(ops.map((o) => [o.bulkId, o.status])).to.deep.equal([
        ['u1', '201'],
        ['u2', '201'],
        [undefined, '200'],
        ['dup', '409'],
        ['g', '201'],
      ]);
      expect(ops[3].response?.scimType).to.equal('uniqueness');
      const group = await scim.get(ops[4].location!.replace(/^.*\/scim\/v2/, ''));
      expect(group.body.members.map((m: { display: string }) => m.display)).to.deep.equal(['yan', 'zoe']);
    });

    it('runs creates side by side only where the order cannot matter: the first of two claiming a name wins', async () => {
      const res = await scim.post('/Bulk', {
        schemas: [BULK],
        Operations: [
          ...Array.from({ length: 12 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `n${i}`, data: newUser(`par-${i}`) })),
          { method: 'POST', path: '/Users', bulkId: 'again', data: newUser('par-3', { displayName: 'second' }) },
          { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'par' } },
          { method: 'POST', path: '/Groups', bulkId: 'g2', data: { schemas: [GROUP], displayName: 'par' } },
        ],
      });
      const ops = res.body.Operations as { bulkId: string; status: string }[];
      expect(ops.map((o) => o.bulkId)).to.deep.equal([...Array.from({ length: 12 }, (_, i) => `n${i}`), 'again', 'g', 'g2']);
      expect(ops.map((o) => o.status)).to.deep.equal([...Array(12).fill('201'), '409', '201', '409']);
      expect((await t.db('users').where({ username: 'par-3' }).first())!.name).to.equal('');
    });

    it('stops after failOnErrors errors, and refuses too many operations', async () => {
      const res = await scim.post('/Bulk', {
        schemas: [BULK],
        failOnErrors: 1,
        Operations: [
          { method: 'POST', path: '/Users', bulkId: 'a', data: { schemas: [USER] } },
          { method: 'POST', path: '/Users', bulkId: 'b', data: newUser('never') },
        ],
      });
      expect(res.body.Operations).to.have.length(1);
      expect(await t.db('users').where({ username: 'never' }).first()).to.equal(undefined);
      const many = await scim.post('/Bulk', {
        schemas: [BULK],
        Operations: Array.from({ length: 1001 }, (_, i) => ({ method: 'DELETE', path: `/Users/${i + 1}` })),
      });
      expect(many.status).to.equal(413);
      expect(errorOf(many).scimType).to.equal('tooMany');
    });
  });

  describe('parallel writes', () => {
    it('the same create five times at once: one user, one 201, 409 for the rest', async () => {
      const answers = await Promise.all(Array.from({ length: 5 }, () => scim.post('/Users', newUser('twin'))));
      expect(answers.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409, 409]);
      expect(await t.db('users').where({ username: 'twin' }).count({ n: '*' }).first()).to.deep.include({ n: 1 });
      expect(
        await t
          .db('events')
          .where({ action: 'model_created' })
          .whereNot('context', 'like', '%"model_name":"token"%')
          .count({ n: '*' })
          .first(),
      ).to.deep.include({ n: 1 });
    });

    it('the same member added by five PATCHes at once: one membership and one event, no 5xx', async () => {
      const user = await create('joiner');
      const group = await scim.post('/Groups', { schemas: [GROUP], displayName: 'Crowd' });
      const add = patchOf({ op: 'add', path: 'members', value: [{ value: user.id }] });
      const answers = await Promise.all(Array.from({ length: 5 }, () => scim.patch(`/Groups/${group.body.id}`, add)));
      expect(answers.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200]);
      expect(
        await t
          .db('group_memberships')
          .where({ group_id: Number(group.body.id) })
          .count({ n: '*' })
          .first(),
      ).to.deep.include({ n: 1 });
      const events = await t.db('events').where({ action: 'model_updated' }).where('context', 'like', '%added_user%');
      expect(events).to.have.length(1);
    });

    it('the same Bulk twice at once: each user once, each request answered whole', async () => {
      const bulk = {
        schemas: [BULK],
        Operations: ['p1', 'p2', 'p3'].map((name) => ({ method: 'POST', path: '/Users', bulkId: name, data: newUser(name) })),
      };
      const [a, b] = await Promise.all([scim.post('/Bulk', bulk), scim.post('/Bulk', bulk)]);
      const statuses = [...a.body.Operations, ...b.body.Operations].map((o: { status: string }) => o.status).sort();
      expect(statuses).to.deep.equal(['201', '201', '201', '409', '409', '409']);
      expect(await t.db('users').whereIn('username', ['p1', 'p2', 'p3']).count({ n: '*' }).first()).to.deep.include({ n: 3 });
    });
  });

  describe('hostile input', () => {
    it('answers every malformed request with a SCIM error, never a 500', async () => {
      const made = await create('hostile');
      const cases: [string, () => Promise<request.Response>][] = [
        ['deep', () => scim.post('/Users', `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`)],
        ['big', () => scim.post('/Users', JSON.stringify(newUser('big', { title: 'x'.repeat(5 * 1024 * 1024) })))],
        [
          'text',
          () =>
            request(t.app)
              .post('/scim/v2/Users')
              .set('Authorization', `Bearer ${scim.key}`)
              .set('Content-Type', 'text/plain')
              .send('hello'),
        ],
        ['sql', () => scim.get(`/Users?filter=${encodeURIComponent('userName eq "x\' or 1=1 --"')}`)],
        [
          'proto',
          () => scim.post('/Users', '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"p","__proto__":{"admin":true}}'),
        ],
        ['startIndex', () => scim.get('/Users?startIndex=99999999999999&count=-5')],
        ['patch-proto', () => scim.patch(`/Users/${made.id}`, patchOf({ op: 'add', path: '__proto__', value: { x: 1 } }))],
        [
          'patch-bad',
          () => scim.patch(`/Users/${made.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: 'nope' }),
        ],
        ['bulk-bad', () => scim.post('/Bulk', { schemas: [BULK], Operations: [{ method: 'GET', path: '/Users' }] })],
        [
          'filter-long',
          () =>
            scim.post('/Users/.search', { schemas: [SEARCH], filter: Array.from({ length: 600 }, () => 'userName eq "a"').join(' or ') }),
        ],
        ['bidi', () => scim.post('/Groups', { schemas: [GROUP], displayName: 'a\u202eb' })],
      ];
      for (const [name, send] of cases) {
        const res = await send();
        expect(res.status, `${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`).to.be.within(200, 499);
        if (res.status >= 400) expect(res.headers['content-type'], name).to.match(/^application\/scim\+json/);
      }
      expect((await scim.get('/ServiceProviderConfig')).status).to.equal(200);
      expect(SCIM_JSON).to.equal('application/scim+json');
    });
  });
});
