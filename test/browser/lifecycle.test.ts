import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { ensureGroup } from '../../app/directory/groups/groups.js';
import { insertUser } from '../../app/directory/users/users.js';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

describe('browser: sessions, memberships, deactivation and deletion through reviews', function () {
  this.timeout(240_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(f.t.db, { username: 'akadmin', admin: true, path: 'admins' });
      await ensureGroup(f.t.db, 'Engineering', false);
    },
  });

  async function signIn(page: Page, username: string): Promise<void> {
    await logIn(page, f.baseUrl, username);
    await page.waitForURL((url) => url.pathname !== '/login');
  }

  /** The review is a modal with JavaScript and a page without; either way it has this button. */
  async function confirm(page: Page, js: JsMode, button: string): Promise<void> {
    const scope = js === 'on' ? page.locator('dialog.modal') : page.locator('main');
    await scope.getByRole('button', { name: button, exact: true }).waitFor();
    await landed(page);
    await scope.getByRole('button', { name: button, exact: true }).click();
  }

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`ends a session, adds and removes a group, deactivates and activates a user (JavaScript ${js})`, async () => {
      const username = `member-${js}`;
      const userId = await createUser(f.t.db, { username });
      const userContext = await newContext(f.browser, 'on');
      const userPage = await userContext.newPage();
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(userPage, username);
        await signIn(page, 'akadmin');

        // Sessions: select the user's session, review, delete; their browser is logged out.
        await visit(page, `${f.baseUrl}/directory/users/${userId}/sessions`);
        await page.locator('input[name="ids"]').first().check();
        await page.getByRole('button', { name: 'Delete', exact: true }).last().click();
        await confirm(page, js, 'Delete');
        await page.getByText(`1 session of ${username} ended.`).waitFor();
        await page.getByText(`${username} has no active sessions.`).waitFor();
        await landed(page);
        await userPage.reload();
        expect(new URL(userPage.url()).pathname).to.equal('/login');

        // Groups: add by name, then remove through the review.
        await page.getByRole('link', { name: 'Groups', exact: true }).last().click();
        await page.getByLabel(`Add ${username} to a group`).fill('Engineering');
        await page.getByRole('button', { name: 'Add', exact: true }).click();
        await page.getByText(`${username} added to Engineering.`).waitFor();
        await page.getByRole('cell', { name: 'Engineering', exact: true }).waitFor();
        await landed(page);
        await page.getByLabel('Select Engineering').check();
        await page.getByRole('button', { name: 'Remove', exact: true }).click();
        await confirm(page, js, 'Remove');
        await page.getByText(`${username} is in no group.`).waitFor();
        await landed(page);

        // Deactivate, then activate, through the review.
        await page.getByRole('link', { name: 'Deactivate' }).click();
        await confirm(page, js, 'Update');
        await page.locator('#toasts').getByText(`${username} deactivated`).waitFor();
        await page.getByRole('link', { name: 'Activate' }).waitFor();
        await landed(page);
        await page.getByRole('link', { name: 'Activate' }).click();
        await confirm(page, js, 'Update');
        await page.locator('#toasts').getByText(`${username} activated`).waitFor();
        await page.getByRole('link', { name: 'Deactivate' }).waitFor();
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
        await userContext.close();
      }
    });

    it(`bulk deletes users from the list through the review (JavaScript ${js})`, async () => {
      for (const n of [1, 2, 3]) await insertUser(f.t.db, { username: `doomed-${js}-${n}`, path: `doomed-${js}` });
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page, 'akadmin');
        await visit(page, `${f.baseUrl}/directory/users?path=doomed-${js}`);
        if (js === 'on') {
          expect(await page.getByRole('button', { name: 'Delete', exact: true }).isDisabled()).to.equal(true);
          await page.getByLabel('Select all').check();
        } else {
          for (const n of [1, 2, 3]) await page.getByLabel(`Select doomed-${js}-${n}`).check();
        }
        await page.getByRole('button', { name: 'Delete', exact: true }).click();
        const scope = js === 'on' ? page.locator('dialog.modal') : page.locator('main');
        await scope.getByText('Delete 3 users?').waitFor();
        await confirm(page, js, 'Delete');
        await page.getByText('3 users deleted.').waitFor();
        await page.getByText('No users in this folder.').waitFor();
        expect(await page.getByRole('link', { name: `doomed-${js}-1`, exact: true }).count()).to.equal(0);
        expect(await f.t.db('users').where('username', 'like', `doomed-${js}-%`).first()).to.equal(undefined);
        await landed(page);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });

    it(`deactivates and activates a user from the list's quick overview (JavaScript ${js})`, async () => {
      const username = `listed-${js}`;
      const userId = await createUser(f.t.db, { username, path: `listed-${js}` });
      const list = `${f.baseUrl}/directory/users?path=listed-${js}&active=all`;
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page, 'akadmin');
        await visit(page, list);
        const row = page.locator('tr', { has: page.getByRole('link', { name: username, exact: true }) });
        for (const [action, toast, status] of [
          ['Deactivate', 'deactivated', 'Deactivated'],
          ['Activate', 'activated', 'Active'],
        ]) {
          await row.getByText('Quick overview').click();
          await row.getByRole('link', { name: action, exact: true }).click();
          await confirm(page, js, 'Update');
          await page.locator('#toasts').getByText(`${username} ${toast}`).waitFor();
          await landed(page);
          // With htmx the list refreshes under the closed modal; without, the review returns to the same list URL.
          expect(page.url()).to.equal(list);
          await row.getByRole('cell', { name: status, exact: true }).waitFor();
        }
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
