import { expect } from 'chai';
import * as OTPAuth from 'otpauth';
import type { Page } from 'playwright-core';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, watchErrors } from '../support/browser.js';

describe('browser: second factors', function () {
  this.timeout(180_000);
  // WebAuthn needs a host name, not an IP address: PUBLIC_URL and the browser use localhost.
  const f = browserApp({ host: 'localhost' });

  async function logOut(page: Page) {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You have been logged out.').waitFor();
  }

  it('registers a security key and logs in with it (virtual authenticator over CDP)', async () => {
    await createUser(f.t.db, { username: 'keyholder' });
    const context = await newContext(f.browser, 'on');
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      await logIn(page, f.baseUrl, 'keyholder');
      await page.getByRole('heading', { name: 'My account' }).waitFor();
      await page.getByLabel('Name of the new security key').fill('Laptop key');
      await page.getByRole('button', { name: 'Add a security key or passkey' }).click();
      await page.getByText('Security key “Laptop key” added.').waitFor();
      await landed(page);
      expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).to.have.length(1);

      await logOut(page);
      await logIn(page, f.baseUrl, 'keyholder');
      await page.getByRole('heading', { name: 'Second factor' }).waitFor();
      await landed(page);
      await page.getByRole('button', { name: 'Use a security key or passkey' }).click();
      await page.getByRole('heading', { name: 'My account' }).waitFor();
      const event = await f.t.db('events').where({ action: 'login' }).orderBy('id', 'desc').first();
      expect(JSON.parse(event!.context)).to.deep.equal({ method: 'webauthn' });
      expect(errors, 'browser errors').to.deep.equal([]);
    } finally {
      await context.close();
    }
  });

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`enrols TOTP and logs in with a code (JavaScript ${js})`, async () => {
      const username = `totp-${js}`;
      await createUser(f.t.db, { username });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await logIn(page, f.baseUrl, username);
        await page.getByRole('heading', { name: 'My account' }).waitFor();
        const note = page.getByText('Security keys and passkeys need JavaScript');
        await note.waitFor({ state: js === 'off' ? 'visible' : 'hidden' });
        await page.getByRole('button', { name: 'Add an authenticator app' }).click();
        await page.getByRole('heading', { name: 'Set up an authenticator app' }).waitFor();
        await landed(page);
        const secret = (await page.locator('code.secret').innerText()).replace(/\s+/g, '');
        const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
        await page.getByRole('textbox', { name: 'Code' }).fill(totp.generate());
        await page.getByRole('button', { name: 'Confirm' }).click();
        await page.getByText('Authenticator app added').waitFor();
        await landed(page);

        await logOut(page);
        await logIn(page, f.baseUrl, username);
        await page.getByLabel('Code from your authenticator app').fill(totp.generate({ timestamp: Date.now() + 30_000 }));
        await landed(page);
        await page.getByRole('button', { name: 'Verify' }).click();
        await page.getByRole('heading', { name: 'My account' }).waitFor();
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
