import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

describe('browser: unlocking a user locked by the brute-force protection', function () {
  this.timeout(120_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(t.db, { username: 'akadmin', admin: true });
    },
  });

  async function signIn(page: Page, username: string): Promise<void> {
    await logIn(page, f.baseUrl, username);
    await page.waitForURL((url) => url.pathname !== '/login');
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`an administrator unlocks a locked user from the user's page (JavaScript ${js})`, async () => {
      const username = `locked-${js}`;
      const userId = await createUser(f.t.db, { username });
      await f.t
        .db('users')
        .where({ id: userId })
        .update({ locked_until: new Date(Date.now() + 30 * 60_000), lock_reason: '20 failed logins from 7 addresses' });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page, 'akadmin');
        await visit(page, `${f.baseUrl}/directory/users/${userId}/groups`);
        const notice = page.locator('#user-lock');
        await notice.getByText(/Locked until .* — 20 failed logins from 7 addresses/).waitFor();
        await notice.getByRole('button', { name: 'Unlock' }).click();
        await page.locator('#toasts').getByText(`${username} unlocked`).waitFor();
        await notice.waitFor({ state: 'detached' });
        await landed(page);
        expect(new URL(page.url()).pathname, 'still on the tab it was opened on').to.equal(`/directory/users/${userId}/groups`);
        expect((await f.t.db('users').where({ id: userId }).first())!.locked_until).to.equal(null);

        const userContext = await newContext(f.browser, js);
        try {
          await signIn(await userContext.newPage(), username);
        } finally {
          await userContext.close();
        }
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
