import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

describe('browser: scheduling and cancelling an offboarding', function () {
  this.timeout(240_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(t.db, { username: 'akadmin', admin: true, path: 'admins' });
    },
  });

  async function signIn(page: Page): Promise<void> {
    await logIn(page, f.baseUrl, 'akadmin');
    await page.waitForURL((url) => url.pathname !== '/login');
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`schedules from the user page, shows it pending there and in the list, and cancels it (JavaScript ${js})`, async () => {
      const username = `leaver-${js}`;
      const userId = await createUser(f.t.db, { username });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      // The form is a modal with JavaScript and a page of its own without.
      const dialog = () => (js === 'on' ? page.locator('dialog.modal') : page.locator('main'));
      try {
        await signIn(page);
        await visit(page, `${f.baseUrl}/directory/users/${userId}`);

        // A time in the past is refused on its field, with what was typed kept.
        await page.getByRole('link', { name: 'Schedule offboarding' }).click();
        await dialog().getByLabel('Date and time (UTC)').fill('2020-01-01T09:00');
        await dialog().getByLabel('Reason').fill('Contract ends');
        await dialog().getByRole('button', { name: 'Schedule', exact: true }).click();
        await dialog().getByText('Choose a time in the future').waitFor();
        expect(await dialog().getByLabel('Reason').inputValue()).to.equal('Contract ends');
        await landed(page);

        // After 30 days without login, then: scheduled, and the header says so.
        await dialog().getByLabel('After days without login').check();
        await dialog().getByLabel('Days without login', { exact: true }).fill('30');
        await dialog().getByRole('button', { name: 'Schedule', exact: true }).click();
        await page.locator('#toasts').getByText(`Scheduled: deactivation of ${username} after 30 days without login.`).waitFor();
        await page.getByText('Offboarding scheduled').waitFor();
        expect(new URL(page.url()).pathname).to.equal(`/directory/users/${userId}`);
        await landed(page);

        // In the list of scheduled actions, with the reason and who scheduled it.
        await visit(page, `${f.baseUrl}/directory/users/scheduled`);
        const row = page.locator('tr', { has: page.getByRole('link', { name: username, exact: true }) });
        await row.getByText('Contract ends').waitFor();
        await row.getByText('After 30 days without login').waitFor();

        // Cancelled from the user's page: the header offers scheduling again.
        await row.getByRole('link', { name: username, exact: true }).click();
        await page.getByText('Offboarding scheduled').click();
        await page.getByText('Scheduled: deactivation after 30 days without login').waitFor();
        await landed(page);
        await page.getByRole('button', { name: 'Cancel offboarding' }).click();
        await page.locator('#toasts').getByText(`Cancelled: deactivation of ${username} after 30 days without login.`).waitFor();
        await page.getByRole('link', { name: 'Schedule offboarding' }).waitFor();
        await landed(page);
        expect(await f.t.db('scheduled_actions').where({ user_id: userId })).to.deep.equal([]);

        // Scheduled at a time, then cancelled from the list's row.
        await page.getByRole('link', { name: 'Schedule offboarding' }).click();
        await dialog().getByLabel('Delete', { exact: true }).check();
        await dialog().getByLabel('Date and time (UTC)').fill('2099-06-30T17:00');
        await dialog().getByRole('button', { name: 'Schedule', exact: true }).click();
        await page.locator('#toasts').getByText(`Scheduled: deletion of ${username} on 30 Jun 2099, 17:00 UTC.`).waitFor();
        await visit(page, `${f.baseUrl}/directory/users/scheduled`);
        await row.getByRole('button', { name: `Cancel the deletion of ${username}` }).click();
        await page.locator('#toasts').getByText(`Cancelled: deletion of ${username} on 30 Jun 2099, 17:00 UTC.`).waitFor();
        await page.getByText('Nothing is scheduled.').waitFor();
        expect(new URL(page.url()).pathname).to.equal('/directory/users/scheduled');
        await landed(page);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
