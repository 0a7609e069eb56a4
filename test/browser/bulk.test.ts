import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { insertUser } from '../../app/directory/users/users.js';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

describe('browser: bulk actions from the users list, lockdown from the user page', function () {
  this.timeout(240_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(t.db, { username: 'akadmin', admin: true, path: 'admins' });
    },
  });

  async function signIn(page: Page, username: string): Promise<void> {
    await logIn(page, f.baseUrl, username);
    await page.waitForURL((url) => url.pathname !== '/login');
  }

  /** The review and its results: a modal with JavaScript, a page of their own without. */
  const dialog = (page: Page, js: JsMode) => (js === 'on' ? page.locator('dialog.modal') : page.locator('main'));

  /** Leaves the results: Close in the modal, or Back to where the review was opened. */
  async function leaveResults(page: Page, js: JsMode): Promise<void> {
    if (js === 'on') await dialog(page, js).getByRole('button', { name: 'Close', exact: true }).last().click();
    else await page.getByRole('main').getByRole('link', { name: 'Back', exact: true }).last().click();
    await landed(page);
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`deactivates two selected users from the list and shows a result for each (JavaScript ${js})`, async () => {
      const folder = `team-${js}`;
      for (const n of [1, 2, 3]) await insertUser(f.t.db, { username: `member-${js}-${n}`, path: folder });
      const list = `${f.baseUrl}/directory/users?path=${folder}&active=all`;
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page, 'akadmin');
        await visit(page, list);
        await page.getByLabel(`Select member-${js}-1`).check();
        await page.getByLabel(`Select member-${js}-2`).check();
        await page.locator('summary', { hasText: 'Actions' }).click();
        await page.getByRole('button', { name: 'Deactivate', exact: true }).click();

        const review = dialog(page, js);
        await review.getByText('Deactivate 2 users?').waitFor();
        await landed(page);
        expect(await review.getByRole('listitem').count()).to.equal(2);
        await review.getByRole('button', { name: 'Deactivate', exact: true }).click();

        await review.getByText('Deactivate 2 users: results').waitFor();
        await review.getByText('2 done, 0 skipped.').waitFor();
        expect(await review.getByText('Done', { exact: true }).count()).to.equal(2);
        await page.locator('#toasts').getByText('2 users deactivated.').waitFor();
        await landed(page);
        await leaveResults(page, js);

        // The list shows the change: without JavaScript, back at the same list URL.
        if (js === 'off') expect(page.url()).to.equal(list);
        const row = (n: number) => page.locator('tr', { has: page.getByRole('link', { name: `member-${js}-${n}`, exact: true }) });
        await row(1).getByRole('cell', { name: 'Deactivated', exact: true }).waitFor();
        await row(2).getByRole('cell', { name: 'Deactivated', exact: true }).waitFor();
        await row(3).getByRole('cell', { name: 'Active', exact: true }).waitFor();
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });

    it(`schedules the offboarding of two selected users from the list (JavaScript ${js})`, async () => {
      const folder = `leavers-${js}`;
      for (const n of [1, 2]) await insertUser(f.t.db, { username: `leaver-${js}-${n}`, path: folder });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page, 'akadmin');
        await visit(page, `${f.baseUrl}/directory/users?path=${folder}`);
        await page.getByLabel(`Select leaver-${js}-1`).check();
        await page.getByLabel(`Select leaver-${js}-2`).check();
        await page.locator('summary', { hasText: 'Actions' }).click();
        await page.getByRole('button', { name: 'Schedule offboarding', exact: true }).click();

        const review = dialog(page, js);
        await review.getByText('Schedule the offboarding of 2 users?').waitFor();
        await landed(page);
        await review.getByLabel('Delete', { exact: true }).check();
        await review.getByLabel('After days without login').check();
        await review.getByLabel('Days without login', { exact: true }).fill('30');
        if (process.env.SHOT) await page.screenshot({ path: `/tmp/bulk-offboarding-${js}.png`, fullPage: true });
        await review.getByRole('button', { name: 'Schedule offboarding', exact: true }).click();

        await review.getByText('Schedule the offboarding of 2 users: results').waitFor();
        await page.locator('#toasts').getByText('Scheduled for 2 users: deletion after 30 days without login.').waitFor();
        await landed(page);
        await leaveResults(page, js);

        await visit(page, `${f.baseUrl}/directory/users/scheduled`);
        for (const n of [1, 2]) {
          const row = page.locator('tr', { has: page.getByRole('link', { name: `leaver-${js}-${n}`, exact: true }) });
          await row.getByText('after 30 days without login').waitFor();
        }
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });

    it(`locks a user down from their page, with a reason (JavaScript ${js})`, async () => {
      const username = `suspect-${js}`;
      const userId = await createUser(f.t.db, { username });
      const userContext = await newContext(f.browser, 'on');
      const userPage = await userContext.newPage();
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(userPage, username);
        await signIn(page, 'akadmin');
        await visit(page, `${f.baseUrl}/directory/users/${userId}`);
        await page.getByRole('link', { name: 'Lockdown', exact: true }).click();

        const review = dialog(page, js);
        await review.getByText('Lock down 1 user?').waitFor();
        await landed(page);
        await review.getByLabel('Reason').fill('laptop stolen');
        await review.getByRole('button', { name: 'Lock down', exact: true }).click();
        await review.getByText('Lock down 1 user: results').waitFor();
        await page.locator('#toasts').getByText('1 user locked down.').waitFor();
        await landed(page);
        await leaveResults(page, js);

        expect(new URL(page.url()).pathname).to.equal(`/directory/users/${userId}`);
        await page.locator('#user-header').getByText('Deactivated', { exact: true }).waitFor();
        await userPage.reload();
        expect(new URL(userPage.url()).pathname).to.equal('/login');
        const event = await f.t.db('events').where({ action: 'user_lockdown' }).orderBy('id', 'desc').first();
        expect(JSON.parse(event!.context)).to.include({ reason: 'laptop stolen' });
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
        await userContext.close();
      }
    });
  }
});
