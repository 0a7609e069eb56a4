import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { insertUser } from '../../app/directory/users/users.js';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

describe('browser: Directory > Users', function () {
  this.timeout(180_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(f.t.db, { username: 'akadmin', name: 'Admin', admin: true, path: 'admins' });
      await insertUser(f.t.db, { username: 'ana', name: 'Ana Müller', email: 'ana@example.com', path: 'users/staff' });
      await insertUser(f.t.db, { username: 'zed', name: 'Zed', path: 'users/customers' });
    },
  });

  async function signIn(page: Page): Promise<void> {
    await logIn(page, f.baseUrl, 'akadmin', { next: '/directory/users' });
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
    await landed(page);
  }

  /** With JavaScript on, a marker on window survives htmx swaps and dies with a full reload. */
  async function mark(page: Page, js: JsMode): Promise<void> {
    if (js === 'on')
      await page.evaluate(() => {
        (window as unknown as { marker: boolean }).marker = true;
      });
  }
  async function expectNoReload(page: Page, js: JsMode): Promise<void> {
    if (js === 'on') expect(await page.evaluate(() => (window as unknown as { marker?: boolean }).marker)).to.equal(true);
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`selects a folder, creates a user there, follows the toast, quick-edits and expands a row (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      const username = `new-${js}`;
      try {
        await signIn(page);
        await mark(page, js);
        const table = page.locator('#users-table');

        // Select a folder: only its users (and those below) remain, and the URL says so.
        await page.locator('#user-folders').getByRole('link', { name: 'staff' }).click();
        await page.waitForURL('**/directory/users?path=users%2Fstaff');
        await table.getByRole('heading', { name: 'users/staff' }).waitFor();
        expect(await table.getByRole('link', { name: 'zed' }).count()).to.equal(0);
        await expectNoReload(page, js);
        await landed(page);

        // Create: the path comes prefilled with the selected folder.
        await table.getByRole('link', { name: 'Create' }).click();
        const form = js === 'on' ? page.locator('dialog.modal') : page.locator('form.user-form');
        await form.getByLabel('Username').waitFor();
        expect(await form.getByLabel('Path').inputValue()).to.equal('users/staff');
        await landed(page);
        await form.getByLabel('Username').fill(username);
        await form.getByLabel('Name', { exact: true }).fill('Brand New');
        await form.getByLabel('Attributes').fill('- not a mapping');
        await form.getByRole('button', { name: 'Create' }).click();
        await form.getByText('Attributes must be a mapping').waitFor();
        expect(await form.getByLabel('Name', { exact: true }).inputValue()).to.equal('Brand New');
        await landed(page);
        await form.getByLabel('Attributes').fill('team: blue');
        await form.getByRole('button', { name: 'Create' }).click();

        const toast = page.locator('#toasts .toast', { hasText: `User ${username} created.` });
        await toast.waitFor();
        await table.getByRole('link', { name: username, exact: true }).waitFor();
        if (js === 'on') expect(await page.locator('dialog.modal').count()).to.equal(0);
        await expectNoReload(page, js);
        await landed(page);

        await toast.getByRole('link', { name: 'Open user' }).click();
        await page.getByRole('heading', { name: username }).waitFor();
        await page.getByText('team: blue').waitFor();
        await landed(page);

        // Quick edit from the list: the row changes in place.
        await visit(page, `${f.baseUrl}/directory/users?path=users`);
        await mark(page, js);
        const row = page.locator('tr', { has: page.getByRole('link', { name: 'ana', exact: true }) });
        await row.getByRole('link', { name: 'Edit ana' }).click();
        const edit = js === 'on' ? page.locator('dialog.modal') : page.locator('form.user-form');
        await edit.getByLabel('Name', { exact: true }).fill(`Ana renamed (JS ${js})`);
        await landed(page);
        await edit.getByRole('button', { name: 'Save' }).click();
        await page.getByText('User ana updated.').waitFor();
        // With htmx the row changes under the closed modal; without, the form returns to the same list URL.
        await row.getByText(`Ana renamed (JS ${js})`).waitFor();
        expect(page.url()).to.equal(`${f.baseUrl}/directory/users?path=users`);
        await expectNoReload(page, js);
        await landed(page);

        // Expand a row's quick overview (a <details>: no JavaScript needed).
        const anaRow = page.locator('tr', { has: page.getByRole('link', { name: 'ana', exact: true }) });
        await anaRow.getByText('Quick overview').click();
        await anaRow.getByText('ana@example.com').waitFor();
        expect(await anaRow.locator('details').getAttribute('open')).to.equal('');
        await landed(page);

        // The username opens the user's page (a page, not the modal that the row's dialogs open in).
        await anaRow.getByRole('link', { name: 'ana', exact: true }).click();
        await page.waitForURL(/\/directory\/users\/\d+$/);
        await page.getByRole('heading', { name: 'ana' }).waitFor();
        expect(await page.locator('dialog.modal').count()).to.equal(0);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`pages and searches (with JavaScript by swapping only the table), and the URLs load as full pages (JavaScript ${js})`, async () => {
      const prefix = `bulk${js}`;
      for (let i = 0; i < 60; i++) await insertUser(f.t.db, { username: `${prefix}${String(i).padStart(2, '0')}`, path: 'bulk' });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page);
        await mark(page, js);
        await page.getByLabel('Search users').fill(prefix);
        if (js === 'off') await page.getByLabel('Search users').press('Enter');
        await page.waitForURL(`**/directory/users?q=${prefix}`);
        await page.locator('#users-table tbody a').first().waitFor();
        await page.getByRole('link', { name: 'Next →' }).click();
        await page.waitForURL(/page=/);
        await page.getByRole('link', { name: `${prefix}59`, exact: true }).waitFor();
        await expectNoReload(page, js);
        expect(await page.getByLabel('Search users').inputValue()).to.equal(prefix);
        await page.reload();
        await page.getByRole('link', { name: `${prefix}59`, exact: true }).waitFor();
        await landed(page);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
