import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { insertUser } from '../../app/directory/users/users.js';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, logIn, newContext, watchErrors } from '../support/browser.js';
import { assertLayout } from '../support/layout.js';

// Long values without a place to break a line: the CSS must wrap or cut them.
const LONG_NAME = `a${'verylongusername'.repeat(3)}${'x'.repeat(11)}`;

describe('browser: the layout holds after every swap, at 1280 and 375 px', function () {
  this.timeout(240_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(t.db, { username: 'akadmin', name: 'Admin', admin: true, path: 'admins' });
      await insertUser(t.db, { username: 'zed', path: 'users/customers' });
      await insertUser(t.db, {
        username: LONG_NAME,
        name: 'LongName'.repeat(8),
        email: `${'someonewithalongaddress'.repeat(3)}@example.com`,
        path: `long/${'deeplynestedfoldername'.repeat(3)}`,
        attributes: { note: 'x'.repeat(120) },
      });
    },
  });

  async function signIn(page: Page): Promise<void> {
    await logIn(page, f.baseUrl, 'akadmin', { next: '/directory/users' });
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
  }

  it('has a 60-character username to test with', () => expect(LONG_NAME).to.have.length(60));

  for (const width of [1280, 375]) {
    it(`after folder click, create, two quick edits and delete (JavaScript on, ${width} px)`, async () => {
      const folder = `staff${width}`;
      for (const name of ['ana', 'bea', 'cem', 'dan'])
        await insertUser(f.t.db, { username: `${name}-${width}`, name: `${name} before`, path: `users/${folder}` });
      const context = await newContext(f.browser, 'on', width);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page);
        await assertLayout(page, { width });
        const table = page.locator('#users-table');

        await page.locator('#user-folders').getByRole('link', { name: folder }).click();
        await table.getByRole('heading', { name: `users/${folder}` }).waitFor();
        await assertLayout(page, { width });

        await table.getByRole('link', { name: 'Create' }).click();
        const modal = page.locator('dialog.modal');
        await modal.getByLabel('Username').fill(`eve-${width}`);
        await modal.getByRole('button', { name: 'Create' }).click();
        await table.getByRole('link', { name: `eve-${width}`, exact: true }).waitFor();
        await modal.waitFor({ state: 'detached' });
        await assertLayout(page, { width });

        // Quick edit of the third row, twice: the row is replaced in place, nothing nests.
        const rows = table.locator('tbody > tr');
        const third = rows.nth(2);
        const username = `cem-${width}`;
        expect(await third.getByRole('link', { name: username, exact: true }).count()).to.equal(1);
        for (const name of ['Cem once', 'Cem twice']) {
          // On a phone the toast of the last change lies along the bottom of the screen, over the rows
          // there: the row is scrolled to the middle first, as someone would before tapping it.
          await third.evaluate((row) => row.scrollIntoView({ block: 'center' }));
          await third.getByRole('link', { name: `Edit ${username}` }).click();
          await modal.getByLabel('Name', { exact: true }).fill(name);
          await modal.getByRole('button', { name: 'Save' }).click();
          await modal.waitFor({ state: 'detached' });
          await third.getByText(name, { exact: true }).waitFor();
          expect(await rows.count(), 'rows in the table').to.equal(5);
          expect(await table.locator('tbody table').count(), 'tables nested in the list').to.equal(0);
          // At 375 px the row lies below the heading: reaching it scrolled the page, and the row must stay in view.
          await assertLayout(page, { width, headingInView: width > 375 });
          const box = (await third.boundingBox())!;
          expect(box.y, 'the edited row is in view').to.be.within(0, page.viewportSize()!.height - box.height);
        }

        await page.getByLabel(`Select ana-${width}`).check();
        await table.getByRole('button', { name: 'Delete', exact: true }).click();
        await modal.getByRole('button', { name: 'Delete', exact: true }).click();
        await page.locator('#toasts').getByText(`User ana-${width} deleted.`).waitFor();
        await table.getByRole('link', { name: `ana-${width}`, exact: true }).waitFor({ state: 'detached' });
        await assertLayout(page, { width, headingInView: width > 375 });
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`long usernames, emails and paths fit at 375 px, in the list and on the user's page (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js, 375);
      const page = await context.newPage();
      try {
        await signIn(page);
        const user = (await f.t.db('users').where({ username: LONG_NAME }).first('id', 'path'))!;
        await page.goto(`${f.baseUrl}/directory/users?path=${encodeURIComponent(user.path)}`);
        const row = page.locator('tr', { has: page.getByRole('link', { name: LONG_NAME, exact: true }) });
        await row.getByText('Quick overview').click();
        await assertLayout(page, { width: 375 });
        await page.goto(`${f.baseUrl}/directory/users/${user.id}`);
        await page.getByRole('heading', { name: LONG_NAME }).waitFor();
        await assertLayout(page, { width: 375 });
        // The Recovery menu, open (a <details>, with or without JavaScript), stays on the screen too.
        await page.getByText('Recovery', { exact: true }).click();
        await page.getByRole('button', { name: 'Copy recovery link' }).waitFor();
        await assertLayout(page, { width: 375 });
      } finally {
        await context.close();
      }
    });
  }
});
