import http from 'node:http';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { type ConsentMode, createApplication } from '../../app/oauth/applications.js';
import { createUser, freePort, PASSWORD } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

/**
 * A relying party on another origin (another port): it receives the browser at its redirect_uri and
 * remembers each callback URL, so that the test can exchange the code the way a real application does.
 */
async function relyingParty() {
  const port = await freePort();
  const callbacks: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname !== '/callback') return res.writeHead(204).end();
    callbacks.push(url);
    res
      .writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      .end('<!doctype html><html lang="en"><title>RP</title><main><h1>Back at the application</h1></main></html>');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    callbacks,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('browser: signing in to an application on another origin', function () {
  this.timeout(180_000);
  let rp: Awaited<ReturnType<typeof relyingParty>>;
  const configs = {} as Record<ConsentMode, oidc.Configuration>;
  const f = browserApp({
    setup: async (t, base) => {
      rp = await relyingParty();
      const adminId = await createUser(t.db, { username: 'akadmin', admin: true });
      const by = { id: adminId, username: 'akadmin', email: '' };
      for (const [consentMode, name] of [
        ['explicit', 'Wiki'],
        ['implicit', 'Intranet'],
      ] as const) {
        const created = await createApplication(t.db, { name, slug: name.toLowerCase(), redirectUris: [rp.redirectUri], consentMode }, by);
        if (!created.ok) throw new Error('no application');
        configs[consentMode] = await oidc.discovery(new URL(`${base}/oauth`), created.application.clientId, created.secret!, undefined, {
          execute: [oidc.allowInsecureRequests],
        });
      }
    },
  });
  after(() => rp?.close());

  /** Opens the application's authorization URL as the application would; returns what the exchange needs. */
  async function authorize(page: Page, consentMode: ConsentMode) {
    const config = configs[consentMode];
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: rp.redirectUri,
      scope: 'openid profile email',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    await page.goto(url.toString());
    return { config, verifier, state };
  }

  /** The browser must arrive at the application, and the code it brings must buy tokens for `username`. */
  async function expectCodeArrives(page: Page, flow: Awaited<ReturnType<typeof authorize>>, username: string) {
    await page.getByRole('heading', { name: 'Back at the application' }).waitFor();
    expect(new URL(page.url()).origin).to.equal(new URL(rp.redirectUri).origin);
    const callback = rp.callbacks.at(-1)!;
    expect(callback.searchParams.get('state')).to.equal(flow.state);
    const tokens = await oidc.authorizationCodeGrant(flow.config, callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    const { uuid } = (await f.t.db('users').where({ username }).first('uuid'))!;
    expect(tokens.claims()!.sub).to.equal(uuid);
  }

  async function fillLogin(page: Page, username: string) {
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await landed(page);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`logs in during the authorization, consents in plain words, and the code reaches the application (JavaScript ${js})`, async () => {
      const username = `ana-${js}`;
      await createUser(f.t.db, { username, name: 'Ana Müller', email: `${username}@example.com` });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        const flow = await authorize(page, 'explicit');
        await fillLogin(page, username);
        await page.getByRole('heading', { name: 'Allow Wiki?' }).waitFor();
        await page.getByText('See your name, username and groups').waitFor();
        await landed(page);
        await page.getByRole('button', { name: 'Allow' }).click();
        await expectCodeArrives(page, flow, username);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });

    it(`already signed in: Deny returns access_denied, Allow returns a code (JavaScript ${js})`, async () => {
      const username = `ben-${js}`;
      await createUser(f.t.db, { username });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await logIn(page, f.baseUrl, username);
        await page.getByRole('heading', { name: 'My account' }).waitFor();

        const denied = await authorize(page, 'explicit');
        await page.getByRole('heading', { name: 'Allow Wiki?' }).waitFor();
        await landed(page);
        await page.getByRole('button', { name: 'Deny' }).click();
        await page.getByRole('heading', { name: 'Back at the application' }).waitFor();
        expect(rp.callbacks.at(-1)!.searchParams.get('error')).to.equal('access_denied');
        expect(rp.callbacks.at(-1)!.searchParams.get('state')).to.equal(denied.state);

        const flow = await authorize(page, 'explicit');
        await page.getByRole('heading', { name: 'Allow Wiki?' }).waitFor();
        await page.getByRole('button', { name: 'Allow' }).click();
        await expectCodeArrives(page, flow, username);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });

    it(`logs in during the authorization of a trusted application and goes straight back to it (JavaScript ${js})`, async () => {
      const username = `cy-${js}`;
      await createUser(f.t.db, { username });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        const flow = await authorize(page, 'implicit');
        await fillLogin(page, username);
        await expectCodeArrives(page, flow, username);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`shows the applications pages to administrators (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js);
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
  }
});
