import { expect } from 'chai';
import * as oidc from 'openid-client';
import { hashPassword } from '../../app/auth/passwords.js';
import { createApplication } from '../../app/oauth/applications.js';
import {
  agentFor,
  createUser,
  csrfFrom,
  csrfOf,
  freePort,
  login,
  PASSWORD,
  serve,
  TEST_ROUNDS,
  type TestApp,
  testApp,
} from '../support/app.js';

const REDIRECT = 'http://rp.example.test/callback';

/** A browser without a browser: follows redirects by hand and keeps cookies. */
class Browser {
  private cookies = new Map<string, string>();
  constructor(private readonly base: string) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const target = new URL(url, this.base);
    const res = await fetch(target, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, ...value] = pair.split('=');
      if (/expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value.join('='));
    }
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  /** Follows redirects until a page answers or the relying party's redirect URI is reached. */
  async follow(url: string) {
    let res = await this.request(url);
    for (let hops = 0; res.location && hops < 10; hops++) {
      const next = new URL(res.location, url.startsWith('http') ? url : this.base).toString();
      if (next.startsWith(REDIRECT)) return { ...res, url: next, callback: next as string | undefined };
      url = next;
      res = await this.request(next);
    }
    return { ...res, url, callback: undefined as string | undefined };
  }
}

describe('OAuth2 / OpenID Connect provider', function () {
  this.timeout(30_000);
  let t: TestApp;
  let server: Awaited<ReturnType<typeof serve>>;
  let base: string;
  let config: oidc.Configuration;
  let anaId: number;
  let clientId: string;

  beforeEach(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await testApp({ PUBLIC_URL: base });
    server = await serve(t.app, port);
    const adminId = await createUser(t.db, { username: 'akadmin', admin: true });
    anaId = await createUser(t.db, { username: 'ana', name: 'Ana Müller', email: 'ana@example.com' });
    const admin = (await t.db('users').where({ id: adminId }).first())!;
    const created = await createApplication(
      t.db,
      { name: 'Wiki', slug: 'wiki', redirectUris: [REDIRECT], consentMode: 'explicit' },
      { id: admin.id, username: admin.username, email: admin.email },
    );
    if (!created.ok) throw new Error('application not created');
    clientId = created.application.clientId;
    config = await oidc.discovery(new URL(`${base}/oauth`), clientId, created.secret!, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
  });
  afterEach(async () => {
    await server.close();
    await t.close();
  });

  async function authorize(browser: Browser, options: { prompt?: string } = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email offline_access',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...(options.prompt ? { prompt: options.prompt } : {}),
    });
    return { verifier, state, result: await browser.follow(url.toString()) };
  }

  async function signIn(browser: Browser, loginUrl: string) {
    const page = await browser.request(loginUrl);
    const next = /name="next" value="([^"]+)"/.exec(page.text)![1].replace(/&amp;/g, '&');
    const posted = await browser.request('/login', {
      method: 'POST',
      form: { _csrf: csrfFrom(page.text), username: 'ana', password: PASSWORD, next },
    });
    expect(posted.status).to.equal(303);
    return browser.follow(posted.location!);
  }

  async function allow(browser: Browser, consentPage: { text: string; url?: string }) {
    const action = /action="(\/interaction\/[^"]+\/confirm)"/.exec(consentPage.text)![1];
    const res = await browser.request(action, { method: 'POST', form: { _csrf: csrfFrom(consentPage.text) } });
    expect(res.status).to.equal(303);
    return browser.follow(new URL(res.location!, base).toString());
  }

  async function fullFlow(browser: Browser) {
    const { verifier, state, result } = await authorize(browser, { prompt: 'consent' });
    expect(result.url).to.match(/\/login\?next=/);
    const consent = await signIn(browser, result.url!);
    expect(consent.status).to.equal(200);
    expect(consent.text).to.contain('Allow Wiki?').and.contain('See your e-mail address');
    const done = await allow(browser, consent);
    expect(done.callback).to.be.a('string');
    return oidc.authorizationCodeGrant(config, new URL(done.callback!), { pkceCodeVerifier: verifier, expectedState: state });
  }

  it('runs the authorization code flow with PKCE: login, consent, code, verified ID token, user info, refresh', async () => {
    const browser = new Browser(base);
    const tokens = await fullFlow(browser);
    const claims = tokens.claims()!;
    const ana = (await t.db('users').where({ id: anaId }).first())!;
    expect(claims.sub).to.equal(ana.uuid);
    expect(claims.iss).to.equal(`${base}/oauth`);
    expect(claims.aud).to.equal(clientId);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).to.include({ preferred_username: 'ana', name: 'Ana Müller', email: 'ana@example.com' });
    expect(tokens.refresh_token).to.be.a('string');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).to.be.a('string');
    expect(await t.db('events').where({ action: 'authorize_application', user_pk: anaId }).first()).to.not.equal(undefined);
  });

  it('remembers an explicit consent; deleting it from the tab makes the application ask again', async () => {
    const browser = new Browser(base);
    await fullFlow(browser);
    const again = await authorize(browser);
    expect(again.result.callback, 'no consent page the second time').to.be.a('string');

    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const tab = await admin.get(`/directory/users/${anaId}/consents`);
    expect(tab.text).to.contain('Wiki').and.contain('offline_access');
    const consent = await t.db('consents').where({ user_id: anaId }).first();
    const res = await admin
      .post(`/directory/users/${anaId}/consents/delete`)
      .type('form')
      .send({ _csrf: await csrfOf(admin), ids: String(consent!.id) });
    expect(res.status).to.equal(303);

    const third = await authorize(browser);
    expect(third.result.callback).to.equal(undefined);
    expect(third.result.text).to.contain('Allow Wiki?');
  });

  it('lists refresh tokens; deleting one makes refreshing it fail with invalid_grant', async () => {
    const tokens = await fullFlow(new Browser(base));
    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const tab = await admin.get(`/directory/users/${anaId}/tokens`);
    expect(tab.text).to.contain('Wiki').and.contain('offline_access');
    const ids = [...tab.text.matchAll(/name="ids" value="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).to.have.length(1);
    const res = await admin
      .post(`/directory/users/${anaId}/tokens/delete`)
      .type('form')
      .send({ _csrf: await csrfOf(admin), ids: ids[0] });
    expect(res.status).to.equal(303);
    try {
      await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect.fail('refresh should fail');
    } catch (err) {
      expect((err as { error?: string }).error).to.equal('invalid_grant');
    }
  });

  it('deactivating the user makes refreshing fail', async () => {
    const tokens = await fullFlow(new Browser(base));
    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    await admin
      .post(`/directory/users/${anaId}/activation`)
      .type('form')
      .send({ _csrf: await csrfOf(admin), is_active: 'false' });
    try {
      await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect.fail('refresh should fail');
    } catch (err) {
      expect((err as { error?: string }).error).to.equal('invalid_grant');
    }
  });

  it('an end of validity set in the past makes refreshing fail, as deactivating does (issue 17)', async () => {
    const tokens = await fullFlow(new Browser(base));
    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const saved = await admin
      .post(`/directory/users/${anaId}`)
      .type('form')
      .send({ _csrf: await csrfOf(admin), valid_until: '2020-01-01T00:00' });
    expect(saved.status).to.equal(303);
    try {
      await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect.fail('refresh should fail');
    } catch (err) {
      expect((err as { error?: string }).error).to.equal('invalid_grant');
    }
    // Valid again: the same refresh token works, so it was the expiry that refused it.
    await admin
      .post(`/directory/users/${anaId}`)
      .type('form')
      .send({ _csrf: await csrfOf(admin), valid_until: '' });
    expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).access_token).to.be.a('string');
  });

  it('lockdown revokes the refresh token and the consent: still refused, and asked again, once the user is back', async () => {
    const tokens = await fullFlow(new Browser(base));
    const admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const lockdown = await admin
      .post('/directory/users/lockdown')
      .type('form')
      .set('Accept', 'application/json')
      .send({ _csrf: await csrfOf(admin), ids: String(anaId), reason: 'token leaked' });
    expect(lockdown.body.done).to.equal(1);
    const [event] = await t.db('events').where({ action: 'user_lockdown' });
    expect(JSON.parse(event.context).revoked).to.include({ consents: 1 }).and.to.have.property('oauth_tokens').above(0);
    // Given back: activated, with a new password. What the lockdown revoked stays revoked.
    await admin
      .post(`/directory/users/${anaId}/activation`)
      .type('form')
      .send({ _csrf: await csrfOf(admin), is_active: 'true' });
    await t
      .db('users')
      .where({ id: anaId })
      .update({ password: await hashPassword(PASSWORD, TEST_ROUNDS) });
    try {
      await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect.fail('refresh should fail');
    } catch (err) {
      expect((err as { error?: string }).error).to.equal('invalid_grant');
    }
    const browser = new Browser(base);
    const { result } = await authorize(browser);
    const consent = await signIn(browser, result.url!);
    expect(consent.callback).to.equal(undefined);
    expect(consent.text).to.contain('Allow Wiki?');
  });

  it('denying consent sends access_denied back to the application', async () => {
    const browser = new Browser(base);
    const { result } = await authorize(browser, { prompt: 'consent' });
    const consent = await signIn(browser, result.url!);
    const action = /action="(\/interaction\/[^"]+\/abort)"/.exec(consent.text)![1];
    const res = await browser.request(action, { method: 'POST', form: { _csrf: csrfFrom(consent.text) } });
    const done = await browser.follow(new URL(res.location!, base).toString());
    expect(new URL(done.callback!).searchParams.get('error')).to.equal('access_denied');
  });
});
