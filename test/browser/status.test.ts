import { expect } from 'chai';
import { insertUser } from '../../app/directory/users/users.js';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

/** Issue 17 in a browser: the list filtered by status, its status column, and "valid until" on the edit form. */
describe('browser: the status of users', function () {
  this.timeout(180_000);
  const DAY = 86_400_000;
  const f = browserApp({
    setup: async (t) => {
      await createUser(t.db, { username: 'akadmin', admin: true, path: 'admins' });
      for (const js of ['on', 'off']) {
        const path = `st-${js}`;
        await insertUser(t.db, { username: `${path}.active`, path });
        await insertUser(t.db, { username: `${path}.off`, path, isActive: false });
        await insertUser(t.db, { username: `${path}.expired`, path, validUntil: new Date(Date.now() - DAY) });
        const locked = await insertUser(t.db, { username: `${path}.locked`, path });
        await t
          .db('users')
          .where({ id: locked })
          .update({ locked_until: new Date(Date.now() + DAY), lock_reason: 'Too many failed logins' });
        await insertUser(t.db, { username: `${path}.edited`, path });
      }
    },
  });

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`filters the list by status and shows each user's status in its column (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      const path = `st-${js}`;
      try {
        await logIn(page, f.baseUrl, 'akadmin', { next: '/directory/users' });
        await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
        await visit(page, `${f.baseUrl}/directory/users?path=${path}&active=all`);
        const rows = page.locator('#users-table tbody tr');
        const statusOfRow = (username: string) =>
          page
            .locator('tr', { has: page.getByRole('link', { name: username, exact: true }) })
            .locator('td')
            .nth(2)
            .innerText();
        expect(await rows.count()).to.equal(5);
        expect(await statusOfRow(`${path}.active`)).to.equal('Active');
        expect(await statusOfRow(`${path}.off`)).to.equal('Deactivated');
        expect(await statusOfRow(`${path}.expired`)).to.equal('Expired');
        expect(await statusOfRow(`${path}.locked`)).to.equal('Locked');

        for (const [status, username] of [
          ['locked', `${path}.locked`],
          ['expired', `${path}.expired`],
          ['deactivated', `${path}.off`],
        ]) {
          await page.locator('#users-status-filter').selectOption(status);
          if (js === 'off') await page.getByRole('button', { name: 'Search', exact: true }).click();
          await page.waitForURL(new RegExp(`status=${status}`));
          await page.locator('#users-table .list-count').getByText('1 user', { exact: true }).waitFor();
          expect(await rows.count(), status).to.equal(1);
          await page.getByRole('link', { name: username, exact: true }).waitFor();
          await landed(page);
        }

        // The quick overview says until when the lock runs.
        await visit(page, `${f.baseUrl}/directory/users?path=${path}&status=locked`);
        const row = page.locator('tr', { has: page.getByRole('link', { name: `${path}.locked`, exact: true }) });
        await row.getByText('Quick overview').click();
        await row.getByText(/^Locked until \d+ \w+ \d{4}, \d\d:\d\d UTC$/).waitFor();
        expect(await page.locator('#users-status-filter').inputValue()).to.equal('locked');
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });

    it(`sets a valid until on the edit form; a past time shows the user as Expired (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      const username = `st-${js}.edited`;
      try {
        const id = (await f.t.db('users').where({ username }).first('id'))!.id;
        await logIn(page, f.baseUrl, 'akadmin', { next: `/directory/users/${id}` });
        await page.getByRole('heading', { name: username }).waitFor();
        await landed(page);
        await page.getByRole('link', { name: 'Edit', exact: true }).click();
        const form = js === 'on' ? page.locator('dialog.modal') : page.locator('form.user-form');
        const field = form.getByLabel('Valid until');
        await field.waitFor();
        await landed(page);
        await field.fill('2020-01-02T03:04');
        await form.getByRole('button', { name: 'Save' }).click();
        await page.getByText(`User ${username} updated.`).waitFor();
        const stored = (await f.t.db('users').where({ id }).first('valid_until'))!.valid_until!;
        expect(new Date(stored).toISOString()).to.equal('2020-01-02T03:04:00.000Z');
        await visit(page, `${f.baseUrl}/directory/users/${id}`);
        await page.locator('#user-header .badge').getByText('Expired since 2 Jan 2020, 03:04 UTC').waitFor();
        await page.getByText('2 Jan 2020, 03:04 UTC', { exact: true }).waitFor();
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
