import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { insertUser } from '../../app/directory/users/users.js';
import { recordLogin } from '../../app/identity/identity.js';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';
import { assertLayout } from '../support/layout.js';

describe('browser: Directory > Users', function () {
  this.timeout(180_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(f.t.db, { username: 'akadmin', name: 'Admin', admin: true, path: 'admins' });
      await insertUser(f.t.db, { username: 'ana', name: 'Ana Müller', email: 'ana@example.com', path: 'users/staff' });
      await insertUser(f.t.db, { username: 'zed', name: 'Zed', path: 'users/customers' });
      // A team with names and addresses of ordinary length, some of whom have logged in: more than a screen.
      for (let i = 0; i < 16; i++) {
        const [first, last] = [TEAM_FIRST[i % 4], TEAM_LAST[i % 5]];
        const username = `${first.toLowerCase()}.${last.toLowerCase()}${i}`;
        const id = await insertUser(f.t.db, { username, name: `${first} ${last}`, email: `${username}@example.com`, path: 'users/team' });
        if (i % 3) await recordLogin(f.t.db, id, new Date(Date.UTC(2026, 10, i + 1, 9, 30)));
      }
      await insertUser(f.t.db, { ...LONG, path: 'users/team' });
    },
  });
  const TEAM_FIRST = ['Ilse', 'Joan', 'Kofi', 'Lena'];
  const TEAM_LAST = ['Okafor', 'Lindqvist', 'Tanaka', 'Moreau', 'Kowalski'];
  const LONG = {
    username: 'wilhelmina.vandersloot-oyelaran',
    name: 'Wilhelmina Van der Sloot-Oyelaran',
    email: 'wilhelmina.vandersloot-oyelaran@research.example.com',
  };

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

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`a search swaps the table and says how many users it found, in the toolbar and the live region (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page);
        await mark(page, js);
        const status = page.getByRole('status');
        const toolbarCount = page.locator('#users-table .list-count');
        const search = async (q: string) => {
          await page.getByLabel('Search users').fill(q);
          if (js === 'off') await page.getByLabel('Search users').press('Enter');
          await page.waitForURL(`**/directory/users?q=${encodeURIComponent(q)}`);
        };

        await search('kofi');
        await status.getByText('4 users', { exact: true }).waitFor();
        expect(await toolbarCount.innerText()).to.equal('4 users');
        expect(await page.locator('#users-table tbody tr').count(), 'rows').to.equal(4);
        expect(await page.locator('#users-table tbody tr a').first().innerText()).to.match(/^kofi\./);
        await expectNoReload(page, js);
        await landed(page);

        await search('kofi.okafor');
        await status.getByText('1 user', { exact: true }).waitFor();
        expect(await toolbarCount.innerText()).to.equal('1 user');

        await search('kofi.nobody');
        await status.getByText('No users match', { exact: true }).waitFor();
        await page.locator('#users-table').getByText('No users match this search.').waitFor();
        await expectNoReload(page, js);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`shows at least 12 whole rows on the first screen at 1280×800, each with its quick overview one click away (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js, 1280, 800);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page);
        const rows = page.locator('#users-table tbody tr');
        expect(await rows.count(), 'users listed').to.be.at.least(12);
        const whole = await rows.evaluateAll((trs) =>
          trs.filter((tr) => {
            const box = tr.getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight && box.left >= 0 && box.right <= window.innerWidth;
          }),
        );
        expect(whole.length, 'rows wholly in the 1280×800 viewport').to.be.at.least(12);

        // The twelfth row's overview opens in place, and shows what the row's line has no room for.
        const twelfth = rows.nth(11);
        const username = await twelfth.getByRole('link').first().innerText();
        const user = (await f.t.db('users').where({ username }).first('email', 'path'))!;
        await twelfth.getByText('Quick overview').click();
        for (const text of [user.path, user.email]) if (text) await twelfth.getByText(text, { exact: true }).waitFor();
        await twelfth.getByRole('button', { name: 'Copy recovery link' }).waitFor();
        await assertLayout(page, { width: 1280 });
        await landed(page);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`fits 375 px, a long name and address too, with the quick overview open (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js, 375);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page);
        await visit(page, `${f.baseUrl}/directory/users?path=users%2Fteam`);
        await assertLayout(page, { width: 375 });
        const row = page.locator('tr', { has: page.getByRole('link', { name: LONG.username, exact: true }) });
        await row.getByText('Quick overview').click();
        await row.getByText(LONG.email).waitFor();
        await row.getByText('users/team', { exact: true }).waitFor();
        await row.getByRole('link', { name: 'Deactivate' }).waitFor();
        const box = (await row.boundingBox())!;
        expect(box.x + box.width, 'the open row fits the screen').to.be.at.most(375);
        await assertLayout(page, { width: 375, headingInView: false });
        await landed(page);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
