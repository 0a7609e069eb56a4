import { expect } from 'chai';
import * as OTPAuth from 'otpauth';
import type TestAgent from 'supertest/lib/agent.js';
import { LIMITS } from '../../app/auth/throttle/rules.js';
import { agentFor, createUser, csrfFrom, csrfOf, login, PASSWORD, type TestApp, testApp } from '../support/app.js';

describe('MFA: TOTP, recovery codes, login with a second factor', () => {
  let t: TestApp;
  let ana: TestAgent;
  let anaId: number;

  const code = (secret: string, offsetSteps = 0) =>
    new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offsetSteps * 30_000 });

  async function post(agent: TestAgent, url: string, fields: Record<string, string> = {}) {
    return agent
      .post(url)
      .type('form')
      .send({ _csrf: await csrfOf(agent), ...fields });
  }

  /** Enrols TOTP through /me and returns the secret. */
  async function enrolTotp(agent: TestAgent): Promise<string> {
    const start = await post(agent, '/me/authenticators/totp');
    expect(start.status).to.equal(303);
    const page = await agent.get(start.headers.location);
    expect(page.text).to.contain('<svg').and.contain('Set up an authenticator app');
    const secret = /class="secret">([A-Z2-7 ]+)</.exec(page.text)![1].replace(/ /g, '');
    const wrong = await agent
      .post(start.headers.location)
      .type('form')
      .send({ _csrf: csrfFrom(page.text), code: '000000' });
    expect(wrong.status).to.equal(422);
    const ok = await agent
      .post(start.headers.location)
      .type('form')
      .send({ _csrf: csrfFrom(page.text), code: code(secret) });
    expect(ok.status).to.equal(303);
    return secret;
  }

  /** Password step; returns the agent waiting at the second step. */
  async function passwordStep(): Promise<TestAgent> {
    const agent = agentFor(t.app);
    const res = await login(agent, 'ana');
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/login/mfa');
    return agent;
  }

  async function secondStep(agent: TestAgent, value: string) {
    const page = await agent.get('/login/mfa');
    return agent
      .post('/login/mfa')
      .type('form')
      .send({ _csrf: csrfFrom(page.text), code: value });
  }

  beforeEach(async () => {
    t = await testApp();
    await createUser(t.db, { username: 'akadmin', admin: true });
    anaId = await createUser(t.db, { username: 'ana' });
    ana = agentFor(t.app);
    await login(ana, 'ana');
  });
  afterEach(() => t.close());

  it('enrols TOTP, then login needs a code: wrong refused, right accepted, a replay refused', async () => {
    const secret = await enrolTotp(ana);
    expect(await t.db('authenticators').where({ user_id: anaId, confirmed: true }).first()).to.not.equal(undefined);
    const agent = await passwordStep();
    expect((await agent.get('/me')).status, 'not signed in yet').to.equal(303);
    const mfaPage = await agent.get('/login/mfa');
    expect(mfaPage.text).to.contain('Code from your authenticator app');
    expect((await secondStep(agent, '123456')).status).to.equal(401);
    const next = code(secret, 1);
    const ok = await secondStep(agent, next);
    expect(ok.status).to.equal(303);
    expect((await agent.get('/me')).status).to.equal(200);
    const event = await t.db('events').where({ action: 'login', user_pk: anaId }).orderBy('id', 'desc').first();
    expect(JSON.parse(event!.context)).to.deep.equal({ method: 'totp' });
    expect(await t.db('events').where({ action: 'login_failed', user_pk: anaId }).first()).to.not.equal(undefined);

    const again = await passwordStep();
    expect((await secondStep(again, next)).status, 'the same code twice').to.equal(401);
  });

  it('throttles repeated wrong codes', async () => {
    await enrolTotp(ana);
    const agent = await passwordStep();
    for (let i = 0; i < LIMITS.client.failures; i++) expect((await secondStep(agent, '000000')).status).to.equal(401);
    const blocked = await secondStep(agent, '000000');
    expect(blocked.status).to.equal(429);
    expect(blocked.text).to.contain('Too many wrong codes');
  });

  it('recovery codes are shown once and each works once', async () => {
    await enrolTotp(ana);
    const res = await post(ana, '/me/authenticators/static');
    expect(res.status).to.equal(200);
    expect(res.headers['cache-control']).to.equal('no-store');
    const codes = [...res.text.matchAll(/<li><code>([a-z0-9-]{19})<\/code><\/li>/g)].map((m) => m[1]);
    expect(codes).to.have.length(10);
    expect(JSON.stringify(await t.db('recovery_codes').select())).to.not.contain(codes[0]);
    const agent = await passwordStep();
    expect((await secondStep(agent, codes[0].toUpperCase())).status).to.equal(303);
    const again = await passwordStep();
    expect((await secondStep(again, codes[0])).status).to.equal(401);
    expect((await secondStep(again, codes[1])).status).to.equal(303);
  });

  it('an administrator removing the device lets the password alone work again', async () => {
    await enrolTotp(ana);
    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const tab = await admin.get(`/directory/users/${anaId}/authenticators`);
    expect(tab.text).to.contain('Authenticator app').and.contain('TOTP app');
    const id = (await t.db('authenticators').where({ user_id: anaId }).first())!.id;
    const res = await post(admin, `/directory/users/${anaId}/authenticators/delete`, { ids: String(id) });
    expect(res.status).to.equal(303);
    expect(
      await t
        .db('events')
        .where({ action: 'model_deleted', user_pk: (await t.db('users').where({ username: 'akadmin' }).first())!.id })
        .first(),
    ).to.not.equal(undefined);
    const fresh = agentFor(t.app);
    const again = await login(fresh, 'ana');
    expect(again.headers.location).to.equal('/');
  });

  it('the second step expires, and cannot be reached without the password', async () => {
    expect((await agentFor(t.app).get('/login/mfa')).status).to.equal(303);
    await enrolTotp(ana);
    const agent = await passwordStep();
    for (const row of await t.db('sessions').where('data', 'like', '%"mfa"%')) {
      const data = JSON.parse(row.data);
      data.mfa.started = Date.now() - 10 * 60_000;
      await t
        .db('sessions')
        .where({ id: row.id })
        .update({ data: JSON.stringify(data) });
    }
    const page = await agent.get('/login/mfa');
    expect(page.status).to.equal(303);
  });

  it('renames and removes own devices, and changes the own password', async () => {
    await enrolTotp(ana);
    const id = (await t.db('authenticators').where({ user_id: anaId }).first())!.id;
    await post(ana, `/me/authenticators/${id}`, { name: 'Phone' });
    expect((await ana.get('/me')).text).to.contain('value="Phone"');
    await post(ana, `/me/authenticators/${id}/delete`);
    expect(await t.db('authenticators').where({ user_id: anaId }).first()).to.equal(undefined);

    const wrong = await post(ana, '/me/password', {
      current_password: 'nope',
      password: 'a new passphrase',
      password_repeat: 'a new passphrase',
    });
    expect(wrong.status).to.equal(422);
    expect(wrong.text).to.contain('This is not your current password');
    const ok = await post(ana, '/me/password', {
      current_password: PASSWORD,
      password: 'a new passphrase',
      password_repeat: 'a new passphrase',
    });
    expect(ok.status).to.equal(303);
    expect((await ana.get('/me')).status, 'this session stays').to.equal(200);
    expect((await login(agentFor(t.app), 'ana', 'a new passphrase')).status).to.equal(303);
  });

  it("asks for WebAuthn only where a key is registered, and keeps other users' devices apart", async () => {
    await enrolTotp(ana);
    const bob = agentFor(t.app);
    await createUser(t.db, { username: 'bob' });
    await login(bob, 'bob');
    const anaDevice = (await t.db('authenticators').where({ user_id: anaId }).first())!.id;
    await post(bob, `/me/authenticators/${anaDevice}/delete`);
    expect(await t.db('authenticators').where({ id: anaDevice }).first()).to.not.equal(undefined);
    const agent = await passwordStep();
    expect((await agent.get('/login/mfa')).text).to.not.contain('data-webauthn-login');
  });
});
