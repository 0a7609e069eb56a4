import { expect } from 'chai';
import * as oidc from 'openid-client';
import { createApplication } from '../../app/oauth/applications.js';
import { createUser, PASSWORD } from '../support/app.js';
import { browserApp, logIn, landed, newContext, visit, watchErrors } from '../support/browser.js';

const REDIRECT = 'http://rp.example.test/callback';

describe('browser: signing in to an application with JavaScript off', function () {
  this.timeout(60_000);
  let config: oidc.Configuration;
  const f = browserApp({
    setup: async (t, base) => {
      const adminId = await createUser(f.t.db, { username: 'akadmin', admin: true });
      await createUser(f.t.db, { username: 'ana', name: 'Ana Müller', email: 'ana@example.com' });
      const created = await createApplication(f.t.db, { name: 'Wiki', slug: 'wiki', redirectUris: [REDIRECT], consentMode: 'explicit' }, { id: adminId, username: 'akadmin', email: '' });
      if (!created.ok) throw new Error('no application');
      config = await oidc.discovery(new URL(`${base}/oauth`), created.application.clientId, created.secret!, undefined, { execute: [oidc.allowInsecureRequests] });
    },
  });

  it('logs in with Roster, shows the consent in plain words, and returns a code that the application exchanges', async () => {
    const context = await newContext(f.browser, 'off');
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.route(`${REDIRECT}**`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><html lang="en"><title>RP</title><main><h1>Back at the application</h1></main></html>' }));
    try {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT, scope: 'openid profile email', state,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      await page.goto(url.toString());
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await landed(page);
      await page.getByLabel('Username').fill('ana');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Allow Wiki?' }).waitFor();
      await page.getByText('See your name, username and groups').waitFor();
      await landed(page);
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.getByRole('heading', { name: 'Back at the application' }).waitFor();
      const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.claims()!.sub).to.be.a('string');
      expect(errors.filter((e) => !e.includes('rp.example.test')), 'browser errors').to.deep.equal([]);
    } finally {
      await context.close();
    }
  });

  it('shows the applications pages to administrators', async () => {
    const context = await newContext(f.browser, 'off');
    const page = await context.newPage();
    try {
      await logIn(page, f.baseUrl, 'akadmin');
      await page.waitForURL('**/directory/users');
      await visit(page, `${f.baseUrl}/applications`);
      await page.getByRole('link', { name: 'Wiki' }).click();
      await page.getByText('/.well-known/openid-configuration').waitFor();
      await landed(page);
      await page.getByRole('button', { name: 'Rotate secret' }).click();
      await page.getByText('Copy the client secret now.').waitFor();
      await landed(page);
    } finally {
      await context.close();
    }
  });
});
