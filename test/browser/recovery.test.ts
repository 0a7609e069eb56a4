import { expect } from 'chai';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

describe('browser: recovery link from the quick overview', function () {
  this.timeout(180_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(f.t.db, { username: 'akadmin', admin: true, path: 'admins' });
    },
  });

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`copies a link, sets a password with it in a fresh browser, and logs in (JavaScript ${js})`, async () => {
      const username = `forgetful-${js}`;
      const userId = await createUser(f.t.db, { username, path: `recover-${js}` });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      const fresh = await newContext(f.browser, js);
      try {
        await logIn(page, f.baseUrl, 'akadmin');
        await page.waitForURL('**/directory/users');
        await visit(page, `${f.baseUrl}/directory/users?path=recover-${js}`);
        const row = page.locator('tr', { has: page.getByRole('link', { name: username, exact: true }) });
        await row.getByText('Quick overview').click();
        await row.getByRole('button', { name: 'Copy recovery link' }).click();
        const field = page.getByRole('textbox', { name: 'Recovery link' });
        await field.waitFor();
        await landed(page);
        const shown = await field.inputValue();
        // Links are built on PUBLIC_URL, which is where the test server listens.
        expect(shown.startsWith(`${f.baseUrl}/recovery/`)).to.equal(true);
        const link = shown;
        const views = await f.t
          .db('events')
          .where({ action: 'secret_view' })
          .whereRaw('context like ?', [`%"user":"${username}"%`]);
        expect(views, 'one click, one link').to.have.length(1);
        if (js === 'on') {
          await page.getByRole('button', { name: 'Copy', exact: true }).click();
          await page.getByRole('button', { name: 'Copied' }).waitFor();
        } else {
          // Reloading the page that showed the link makes no new one (the shown link keeps working, below).
          await page.reload();
          await page.getByText('shown only once').waitFor();
          expect(await page.getByRole('textbox', { name: 'Recovery link' }).count()).to.equal(0);
          expect(await f.t.db('recovery_tokens').where({ user_id: userId }).count({ n: '*' }).first()).to.deep.include({ n: 1 });
          await landed(page);
        }
        // Done goes back to the list it came from, folder included.
        await page
          .getByRole('button', { name: 'Done' })
          .or(page.getByRole('link', { name: 'Done' }))
          .click();
        await page.getByRole('textbox', { name: 'Recovery link' }).waitFor({ state: 'detached' });
        expect(page.url()).to.equal(`${f.baseUrl}/directory/users?path=recover-${js}`);

        const userPage = await fresh.newPage();
        await visit(userPage, link);
        await userPage.getByLabel('New password', { exact: true }).fill('recovered passphrase');
        await userPage.getByLabel('Repeat the new password').fill('recovered passphrase');
        await userPage.getByRole('button', { name: 'Set password' }).click();
        await userPage.getByText('Your password has been set. Log in with it.').waitFor();
        await landed(userPage);
        await userPage.getByLabel('Username').fill(username);
        await userPage.getByLabel('Password').fill('recovered passphrase');
        await userPage.getByRole('button', { name: 'Log in' }).click();
        await userPage.getByRole('heading', { name: 'My account' }).waitFor();
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
        await fresh.close();
      }
    });
  }
});
