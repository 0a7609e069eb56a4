import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { ensureGroup } from '../../app/directory/groups/groups.js';
import { insertUser } from '../../app/directory/users/users.js';
import { createUser } from '../support/app.js';
import { browserApp, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

/**
 * A dialog ends one way (the modal closes, the page hears what changed, a toast); each page shows
 * the change by reloading its own regions. JavaScript on: without it, every form is a 303 (HTTP tests).
 */
describe('browser: pages show what a dialog changed, by their own regions', function () {
  this.timeout(180_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(t.db, { username: 'akadmin', admin: true, path: 'admins' });
    },
  });

  async function signIn(page: Page): Promise<void> {
    await logIn(page, f.baseUrl, 'akadmin');
    await page.waitForURL((url) => url.pathname !== '/login');
  }
  /** A marker on window survives htmx swaps and dies with a full reload. */
  const mark = (page: Page) =>
    page.evaluate(() => {
      (window as unknown as { marker: boolean }).marker = true;
    });
  const notReloaded = async (page: Page) =>
    expect(await page.evaluate(() => (window as unknown as { marker?: boolean }).marker), 'no full reload').to.equal(true);
  /** Focus moves once the swap has settled: wait for it. */
  const focusOn = (page: Page, text: string) =>
    page.waitForFunction((t) => document.activeElement?.textContent?.trim() === t, text, { timeout: 5000 });

  it("a user's page: an edit, a password and a deactivation show in the header and the tab; a deletion lands on the list", async () => {
    const userId = await insertUser(f.t.db, { username: 'ana', name: 'Ana', path: 'users' });
    const context = await newContext(f.browser, 'on');
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await signIn(page);
      await visit(page, `${f.baseUrl}/directory/users/${userId}`);
      await mark(page);
      const header = page.locator('#user-header');
      const modal = page.locator('dialog.modal');

      await header.getByRole('link', { name: 'Edit' }).click();
      await modal.getByLabel('Name', { exact: true }).fill('Ana Changed');
      await modal.getByRole('button', { name: 'Save' }).click();
      await page.locator('#toasts').getByText('User ana updated.').waitFor();
      await header.getByText('Ana Changed').waitFor();
      await page.locator('#user-tabs dd', { hasText: 'Ana Changed' }).waitFor();
      await focusOn(page, 'Edit');

      await header.getByRole('link', { name: 'Set password' }).click();
      await modal.getByLabel('New password', { exact: true }).fill('a long enough passphrase');
      await modal.getByLabel('Repeat the new password').fill('a long enough passphrase');
      await modal.getByRole('button', { name: 'Set password' }).click();
      await page.locator('#toasts').getByText('Password of ana set.').waitFor();
      await page.locator('#user-tabs dd', { hasText: /^Set / }).waitFor();

      await page.getByRole('navigation', { name: 'User details' }).getByRole('link', { name: 'Sessions' }).click();
      await page.waitForURL(/\/sessions$/);
      await header.getByRole('link', { name: 'Deactivate' }).click();
      await modal.getByRole('button', { name: 'Update' }).click();
      await page.locator('#toasts').getByText('ana deactivated').waitFor();
      await header.getByText('Deactivated', { exact: true }).waitFor();
      await header.getByRole('link', { name: 'Activate' }).waitFor();
      // The tab region reloaded as the tab it shows, and focus went to what replaced Deactivate.
      expect(await page.locator('#user-tabs [aria-current="page"]').innerText()).to.equal('Sessions');
      await focusOn(page, 'Activate');
      await notReloaded(page);
      await landed(page);

      await header.getByRole('link', { name: 'Delete' }).click();
      await modal.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.waitForURL(`${f.baseUrl}/directory/users`);
      await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
      await page.locator('#toasts').getByText('There is no such user. It may have been deleted.').waitFor();
      expect(await page.getByRole('link', { name: 'ana', exact: true }).count()).to.equal(0);
      await landed(page);
      expect(errors, 'browser errors').to.deep.equal([]);
    } finally {
      await context.close();
    }
  });

  it("a group's and an application's page show an edit; a deletion lands on their list", async () => {
    const groupId = await ensureGroup(f.t.db, 'Engineering', false);
    const context = await newContext(f.browser, 'on');
    const page = await context.newPage();
    const errors = watchErrors(page);
    const modal = page.locator('dialog.modal');
    try {
      await signIn(page);
      await visit(page, `${f.baseUrl}/directory/groups/${groupId}`);
      await mark(page);
      await page.getByRole('link', { name: 'Edit' }).click();
      await modal.getByLabel('Name').fill('Platform');
      await modal.getByRole('button', { name: 'Save' }).click();
      await page.locator('#toasts').getByText('Group Platform saved.').waitFor();
      await page.getByRole('heading', { name: 'Platform', level: 1 }).waitFor();
      await focusOn(page, 'Edit');
      await notReloaded(page);
      await page.getByRole('link', { name: 'Delete' }).click();
      await modal.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.waitForURL(`${f.baseUrl}/directory/groups`);
      await page.locator('#groups-table').waitFor();
      expect(await page.getByRole('link', { name: 'Platform', exact: true }).count()).to.equal(0);

      await visit(page, `${f.baseUrl}/applications`);
      await mark(page);
      await page.getByRole('link', { name: 'Create' }).click();
      await modal.getByLabel('Name').fill('Wiki');
      await modal.getByLabel('Slug').fill('wiki');
      await modal.getByLabel('Redirect URIs').fill('https://wiki.example.com/cb');
      await modal.getByRole('button', { name: 'Create' }).click();
      await modal.getByRole('textbox', { name: 'Client secret' }).waitFor();
      // Behind the secret, the table heard applications-changed and shows the new application.
      await page.locator('#applications-table').getByRole('link', { name: 'Wiki', exact: true }).waitFor();
      await notReloaded(page);
      await modal.getByRole('link', { name: 'Done' }).click();
      await page.getByRole('heading', { name: 'Wiki', level: 1 }).waitFor();
      await mark(page);
      await page.getByRole('link', { name: 'Edit' }).click();
      await modal.getByLabel('Name').fill('Team wiki');
      await modal.getByRole('button', { name: 'Save' }).click();
      await page.locator('#toasts').getByText('Application Team wiki saved.').waitFor();
      await page.getByRole('heading', { name: 'Team wiki', level: 1 }).waitFor();
      await notReloaded(page);
      await landed(page);
      expect(errors, 'browser errors').to.deep.equal([]);
    } finally {
      await context.close();
    }
  });

  it('the tokens table shows a new token behind its key, and a revocation', async () => {
    const context = await newContext(f.browser, 'on');
    const page = await context.newPage();
    const errors = watchErrors(page);
    const modal = page.locator('dialog.modal');
    const table = page.locator('#tokens-table');
    try {
      await signIn(page);
      await visit(page, `${f.baseUrl}/directory/tokens`);
      await mark(page);
      await page.getByRole('link', { name: 'Create' }).click();
      await modal.getByLabel('Identifier').fill('ci-bot');
      await modal.getByRole('button', { name: 'Create' }).click();
      await modal.getByRole('textbox', { name: 'API token' }).waitFor();
      await table.getByText('ci-bot').waitFor();
      await page.keyboard.press('Escape');
      await modal.waitFor({ state: 'detached' });
      await table.getByLabel('Select ci-bot').check();
      await table.getByRole('button', { name: 'Revoke' }).click();
      await modal.getByRole('button', { name: 'Revoke' }).click();
      await page.locator('#toasts').getByText('Token revoked.').waitFor();
      await table.getByRole('cell', { name: 'Revoked' }).waitFor();
      await notReloaded(page);
      await landed(page);
      expect(errors, 'browser errors').to.deep.equal([]);
    } finally {
      await context.close();
    }
  });
});
