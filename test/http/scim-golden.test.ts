// Request sequences shaped like those Microsoft Entra ID and Okta send when they provision users and
// groups (their documented SCIM requests: the casing of ops, "False" as a string, value-only
// replaces, PUT-style group updates, filtered member removal), run end to end; then the provisioned
// user logs in and shows in the web UI.
import { expect } from 'chai';
import type request from 'supertest';
import { agentFor, createUser, login, type TestApp, testApp } from '../support/app.js';
import { ENTERPRISE, GROUP, PATCH_OP, type ScimClient, scimClient, USER } from '../support/scim.js';

describe('SCIM: provisioning as Entra ID and Okta do it', function () {
  this.timeout(30_000);
  let t: TestApp;
  let scim: ScimClient;

  beforeEach(async () => {
    t = await testApp();
    scim = await scimClient(t, { identifier: 'idp' });
  });
  afterEach(() => t.close());

  const ok = (res: request.Response, status = 200) => {
    expect(res.status, `${res.status} ${JSON.stringify(res.body)}`).to.equal(status);
    return res.body;
  };
  const q = (filter: string) => encodeURIComponent(filter);

  it('Entra ID: look up, create, update, group push with member removal, soft delete', async () => {
    const userName = 'Test_User_dfb6d2f4@contoso.example';
    expect(ok(await scim.get(`/Users?filter=${q(`userName eq "${userName}"`)}`)).totalResults).to.equal(0);
    const created = ok(
      await scim.post('/Users', {
        schemas: [USER, ENTERPRISE],
        externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
        userName,
        active: true,
        emails: [{ primary: true, type: 'work', value: 'Test_User_11bb6b3b@contoso.example' }],
        meta: { resourceType: 'User' },
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        roles: [],
        [ENTERPRISE]: { employeeNumber: '101', department: 'Engineering', manager: { value: 'mgr-7' } },
      }),
      201,
    );
    expect(ok(await scim.get(`/Users/${created.id}`)).userName).to.equal(userName);
    const found = ok(await scim.get(`/Users?filter=${q(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`)}`));
    expect(found.Resources.map((r: { id: string }) => r.id)).to.deep.equal([created.id]);
    const patched = ok(
      await scim.patch(`/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updated@contoso.example' },
          { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
          { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Research' },
          { op: 'Replace', path: 'displayName', value: 'Updated Name' },
        ],
      }),
    );
    expect(patched.emails[0]).to.include({ value: 'updated@contoso.example', type: 'work', primary: true });
    expect(patched.name.familyName).to.equal('updatedFamilyName');
    expect(patched[ENTERPRISE]).to.deep.include({ department: 'Research', employeeNumber: '101' });

    const groupName = 'Group1DisplayName';
    expect(ok(await scim.get(`/Groups?excludedAttributes=members&filter=${q(`displayName eq "${groupName}"`)}`)).totalResults).to.equal(0);
    const group = ok(
      await scim.post('/Groups', {
        schemas: [GROUP],
        externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
        displayName: groupName,
        meta: { resourceType: 'Group' },
      }),
      201,
    );
    const other = await createUser(t.db, { username: 'another' });
    ok(
      await scim.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Add', path: 'members', value: [{ value: created.id }, { value: String(other) }] }],
      }),
    );
    ok(
      await scim.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Remove', path: 'members', value: [{ value: String(other) }] }],
      }),
    );
    const renamed = ok(
      await scim.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' }],
      }),
    );
    expect(renamed.members.map((m: { value: string }) => m.value)).to.deep.equal([created.id]);
    const inGroup = ok(await scim.get(`/Groups?filter=${q(`members[value eq "${created.id}"]`)}&excludedAttributes=members`));
    expect(inGroup.totalResults).to.equal(1);

    // Soft delete, then restore, then delete.
    expect(
      ok(await scim.patch(`/Users/${created.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }))
        .active,
    ).to.equal(false);
    expect(
      ok(await scim.patch(`/Users/${created.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] }))
        .active,
    ).to.equal(true);
    ok(await scim.del(`/Users/${created.id}`), 204);
    expect(ok(await scim.get(`/Groups/${group.id}`)).members ?? []).to.deep.equal([]);
  });

  it('Okta: create with a password, profile PUT, deactivate, PUT-style group updates; the user logs in and is in the list', async () => {
    expect(ok(await scim.get(`/Users?filter=${q('userName eq "isabella@okta.example"')}&startIndex=1&count=100`)).totalResults).to.equal(0);
    const user = ok(
      await scim.post('/Users', {
        schemas: [USER],
        userName: 'isabella@okta.example',
        name: { givenName: 'Isabella', familyName: 'Ng' },
        emails: [{ primary: true, value: 'isabella@okta.example', type: 'work' }],
        displayName: 'Isabella Ng',
        locale: 'en-US',
        externalId: '00ujl29u0le5T6Aj10h7',
        groups: [],
        password: '1mz050nq-secret',
        active: true,
      }),
      201,
    );
    const put = ok(
      await scim.put(`/Users/${user.id}`, {
        schemas: [USER],
        id: user.id,
        userName: 'isabella@okta.example',
        name: { givenName: 'Isabella', familyName: 'Ng-Lee' },
        emails: [{ primary: true, value: 'isabella@okta.example', type: 'work' }],
        displayName: 'Isabella Ng-Lee',
        locale: 'en-US',
        externalId: '00ujl29u0le5T6Aj10h7',
        groups: [],
        active: true,
        meta: { resourceType: 'User' },
      }),
    );
    expect(put).to.include({ displayName: 'Isabella Ng-Lee' });

    // The provisioned user logs in with the password Okta set, and shows in the web UI.
    const agent = agentFor(t.app);
    expect((await login(agent, 'isabella@okta.example', '1mz050nq-secret')).status).to.equal(303);
    const admin = agentFor(t.app);
    await createUser(t.db, { username: 'web-admin', admin: true });
    await login(admin, 'web-admin');
    const list = await admin.get(`/directory/users?q=${encodeURIComponent('isabella')}`);
    expect(list.text).to.contain('isabella@okta.example').and.contain('Isabella Ng-Lee');
    const page = await admin.get(`/directory/users/${user.id}`);
    expect(page.text).to.contain('00ujl29u0le5T6Aj10h7');

    const group = ok(await scim.post('/Groups', { schemas: [GROUP], displayName: 'Okta Group', members: [] }), 201);
    ok(
      await scim.put(`/Groups/${group.id}`, {
        schemas: [GROUP],
        id: group.id,
        displayName: 'Okta Group',
        members: [{ value: user.id, display: 'isabella@okta.example' }],
      }),
    );
    ok(
      await scim.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', value: { id: group.id, displayName: 'Okta Group 2' } }],
      }),
    );
    const removed = ok(
      await scim.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'remove', path: `members[value eq "${user.id}"]` }],
      }),
    );
    expect(removed).to.include({ displayName: 'Okta Group 2' });
    expect(removed.members ?? []).to.deep.equal([]);
    ok(
      await scim.patch(`/Groups/${group.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'add', path: 'members', value: [{ value: user.id, display: 'isabella@okta.example' }] }],
      }),
    );

    // Deactivation ends the session the user had.
    ok(await scim.patch(`/Users/${user.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }));
    const after = await agent.get('/me');
    expect(after.status).to.equal(303);
    expect(after.headers.location).to.match(/^\/login/);
    expect((await login(agentFor(t.app), 'isabella@okta.example', '1mz050nq-secret')).status).not.to.equal(303);
  });
});
