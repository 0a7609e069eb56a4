import { expect } from 'chai';
import type { Locator, Page } from 'playwright-core';
import { insertUser } from '../../app/directory/users/users.js';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

type Box = { x: number; y: number; width: number; height: number };

/** What has focus, for failure messages. */
function describeFocus(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return '<body>';
    return el.outerHTML.slice(0, 120);
  });
}

/** Waits until the element has focus (focus moves after the swap has settled), else says what has it. */
async function expectFocus(page: Page, target: Locator, what: string): Promise<void> {
  const handle = await target.elementHandle();
  try {
    await page.waitForFunction((el) => el === document.activeElement, handle, { timeout: 5000 });
  } catch {
    expect.fail(`focus should be on ${what}, is on ${await describeFocus(page)}`);
  }
}

async function box(locator: Locator): Promise<Box> {
  const b = await locator.boundingBox();
  expect(b, `${locator} has a box`).to.not.equal(null);
  return b!;
}

/** The whole element is inside the viewport (not scrolled away, not cut off). */
async function expectInView(page: Page, locator: Locator, what: string): Promise<void> {
  const b = await box(locator);
  const { width, height } = page.viewportSize()!;
  expect(
    b.y >= 0 && b.y + b.height <= height && b.x >= 0 && b.x + b.width <= width,
    `${what} in the viewport (box ${JSON.stringify(b)}, viewport ${width}×${height})`,
  ).to.equal(true);
}

function overlap(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

const scrollY = (page: Page) => page.evaluate(() => window.scrollY);

describe('browser: focus, scrolling, announcements and toasts (issue 14, #10)', function () {
  this.timeout(120_000);
  const ids: Record<string, number> = {};
  const f = browserApp({
    // A mail server is configured, so that "Email recovery link" for a user without an address is
    // refused with a message that stays (an error toast) rather than a 503.
    env: { SMTP_URL: 'smtp://127.0.0.1:9' },
    setup: async () => {
      await createUser(f.t.db, { username: 'akadmin', name: 'Admin', admin: true, path: 'admins' });
      // More than a page (50) in one folder, so the list is taller than the window.
      for (let i = 0; i < 60; i++)
        await insertUser(f.t.db, { username: `staff${String(i).padStart(2, '0')}`, name: `Staff ${i}`, path: 'users/staff' });
      await insertUser(f.t.db, { username: 'zed', name: 'Zed', path: 'users/customers' });
      ids.noemail = await insertUser(f.t.db, { username: 'noemail', name: 'No Mail', path: 'users/customers' });
    },
  });

  async function signIn(page: Page, next = '/directory/users'): Promise<void> {
    await logIn(page, f.baseUrl, 'akadmin', { next });
    await page.waitForURL((url) => url.pathname !== '/login');
    await page.locator('h1').first().waitFor();
  }

  const heading = (page: Page) => page.getByRole('heading', { name: 'Users', exact: true, level: 1 });
  const searchBox = (page: Page) => page.getByLabel('Search users');
  const tableHeading = (page: Page, name: string) => page.locator('#users-table').getByRole('heading', { name, exact: true });

  for (const width of [1280, 375]) {
    it(`keeps the heading and search box in view, and focus on the control or the table's heading, after a folder click, sorting and paging (${width} px)`, async () => {
      const context = await newContext(f.browser, 'on', width);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page);
        const before = await scrollY(page);

        await page.locator('#user-folders').getByRole('link', { name: 'staff', exact: true }).click();
        await tableHeading(page, 'users/staff').waitFor();
        await expectFocus(page, page.locator('#user-folders a[aria-current="true"]'), 'the folder link just clicked');
        expect(await page.locator('#user-folders a[aria-current="true"]').innerText()).to.equal('staff');
        await expectInView(page, heading(page), 'the page heading after a folder click');
        await expectInView(page, searchBox(page), 'the search box after a folder click');
        expect(await scrollY(page), 'no scrolling on a folder click').to.equal(before);

        const nameHeader = page.locator('#users-table thead').getByRole('columnheader', { name: /Name/ });
        await nameHeader.getByRole('link').click();
        await page.waitForURL(/sort=-username/);
        await page.locator('#users-table th[aria-sort="descending"]').waitFor();
        await expectFocus(page, nameHeader.getByRole('link'), 'the sort link just clicked');
        await expectInView(page, heading(page), 'the page heading after sorting');
        await expectInView(page, searchBox(page), 'the search box after sorting');
        expect(await scrollY(page), 'no scrolling on sorting').to.equal(before);

        // The pager is at the end of fifty rows: the next page starts at the top again.
        await page.getByRole('link', { name: 'Next →' }).scrollIntoViewIfNeeded();
        expect(await scrollY(page)).to.be.greaterThan(0);
        await page.getByRole('link', { name: 'Next →' }).click();
        await page.waitForURL(/page=/);
        await page.getByRole('link', { name: 'staff09', exact: true }).waitFor();
        await expectFocus(page, tableHeading(page, 'users/staff'), "the table's heading after paging");
        await expectInView(page, heading(page), 'the page heading after paging');
        await expectInView(page, searchBox(page), 'the search box after paging');
        await landed(page);
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }

  it('stays where it was after creating a user from a folder, with focus on Create and the new row shown', async () => {
    const context = await newContext(f.browser, 'on');
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await signIn(page, '/directory/users?path=users%2Fstaff');
      // Scrolled down to the table, as after reading the folders.
      await page.locator('#users-table').evaluate((el) => el.scrollIntoView());
      const before = await scrollY(page);
      expect(before).to.be.greaterThan(0);

      const create = page.locator('#users-table').getByRole('link', { name: 'Create' });
      await create.click();
      const dialog = page.locator('dialog.modal');
      await dialog.getByLabel('Username').fill('fresh');
      await dialog.getByRole('button', { name: 'Create' }).click();
      await page.locator('#toasts').getByText('User fresh created.').waitFor();
      await page.locator('#users-table').getByRole('link', { name: 'fresh', exact: true }).waitFor();
      await expectFocus(page, create, 'the Create link that opened the dialog');
      expect(await scrollY(page), 'no jump after create').to.equal(before);
      await expectInView(page, page.locator('#toasts').getByText('User fresh created.'), 'the toast');
      expect(errors, 'browser errors').to.deep.equal([]);
    } finally {
      await context.close();
    }
  });

  it('gives focus back to what opened a dialog (Escape, Cancel, Close), or to what replaced it', async () => {
    const context = await newContext(f.browser, 'on');
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await signIn(page, '/directory/users?path=users%2Fstaff');
      const dialog = page.locator('dialog.modal');
      const row = page.locator('tr', { has: page.getByRole('link', { name: 'staff03', exact: true }) });
      const edit = row.getByRole('link', { name: 'Edit staff03' });

      // The rows sit higher than #modal (at the end of the page): opening a row's dialog does not scroll there.
      await page.mouse.wheel(0, 300);
      await page.waitForFunction(() => window.scrollY > 0);
      const before = await scrollY(page);
      await edit.click();
      await dialog.getByLabel('Username').waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      await expectFocus(page, edit, "the row's edit link after Escape");
      expect(await scrollY(page), "no scrolling for a row's dialog").to.equal(before);

      // A refused save replaces the dialog's content; Escape still returns to the row.
      await edit.click();
      await dialog.getByLabel('Username').fill('');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.getByText('Check the fields marked below.').waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      await expectFocus(page, edit, "the row's edit link after Escape on a refused form");

      await row.getByText('Quick overview').click();
      const deactivate = row.getByRole('link', { name: 'Deactivate' });
      await deactivate.click();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      await expectFocus(page, deactivate, 'the Deactivate link after Cancel');
      const copy = row.getByRole('button', { name: 'Copy recovery link' });
      await copy.click();
      await dialog.getByRole('button', { name: 'Close' }).click();
      await dialog.waitFor({ state: 'detached' });
      await expectFocus(page, copy, 'the Copy recovery link button after Close');
      expect(await scrollY(page), "no scrolling for the quick overview's dialogs").to.equal(before);

      await row.getByRole('checkbox').check();
      const del = page.locator('#users-table').getByRole('button', { name: 'Delete', exact: true });
      await del.click();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      await expectFocus(page, del, 'the Delete button after Cancel');

      // A save replaces the row: focus goes to the new row's edit link.
      await edit.click();
      await dialog.getByLabel('Name', { exact: true }).fill('Staff three');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await page.locator('#toasts').getByText('User staff03 updated.').waitFor();
      await page.locator('#users-table').getByText('Staff three').waitFor();
      await expectFocus(page, page.locator('#users-table').getByRole('link', { name: 'Edit staff03' }), "the saved row's edit link");

      // The detail page: its Delete and Edit, and the tabs (focus stays on the tab just chosen).
      await visit(page, `${f.baseUrl}/directory/users/${ids.noemail}`);
      const actions = page.locator('.page-actions');
      await actions.getByRole('link', { name: 'Delete' }).click();
      await dialog.getByRole('button', { name: 'Delete' }).waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      await expectFocus(page, actions.getByRole('link', { name: 'Delete' }), 'the Delete link after Escape');

      await actions.getByRole('link', { name: 'Edit' }).click();
      await dialog.getByRole('button', { name: 'Close' }).click();
      await dialog.waitFor({ state: 'detached' });
      await expectFocus(page, actions.getByRole('link', { name: 'Edit' }), 'the Edit link after Close');

      const tabs = page.getByRole('navigation', { name: 'User details' });
      for (const tab of ['Groups', 'Sessions', 'Overview']) {
        await tabs.getByRole('link', { name: tab }).click();
        await tabs.locator('a[aria-current="page"]', { hasText: tab }).waitFor();
        await expectFocus(page, tabs.getByRole('link', { name: tab }), `the ${tab} tab just chosen`);
      }
      expect(errors, 'browser errors').to.deep.equal([]);
    } finally {
      await context.close();
    }
  });

  it('announces search results in a polite live region that outlives the swaps', async () => {
    const context = await newContext(f.browser, 'on');
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await signIn(page);
      const status = page.getByRole('status');
      expect(await status.count(), 'one status region').to.equal(1);
      await status.evaluate((el) => {
        (el as unknown as { kept: boolean }).kept = true;
      });

      await searchBox(page).fill('staff');
      await page.waitForURL('**/directory/users?q=staff');
      // 60 users match: the count is exact, or a lower bound ("50+") where counting is cut short.
      await status.getByText(/^1–50 of (60|\d+\+) users$/).waitFor();

      await searchBox(page).fill('staff5');
      await page.waitForURL('**/directory/users?q=staff5');
      // "staff5" is the words staff and 5: staff50–staff59, and staff05, whose name is "Staff 5".
      await status.getByText('11 users', { exact: true }).waitFor();

      await searchBox(page).fill('nobody');
      await page.waitForURL('**/directory/users?q=nobody');
      await status.getByText('No users match', { exact: true }).waitFor();
      // The same element throughout: a live region announces changes, not a region swapped in whole.
      expect(await status.evaluate((el) => (el as unknown as { kept?: boolean }).kept)).to.equal(true);
      expect(errors, 'browser errors').to.deep.equal([]);
    } finally {
      await context.close();
    }
  });

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`shows toasts clear of the header, Log out and the page's actions at 1280 and 375 px, and dismisses them (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await signIn(page, `/directory/users/${ids.noemail}`);
        await page.getByText('Recovery', { exact: true }).click();
        await page.getByRole('button', { name: 'Email recovery link' }).click();
        const toast = page.locator('#toasts .toast', { hasText: 'No email address set.' });
        await toast.waitFor();
        // An error is an alert; the region itself is polite.
        await page.getByRole('alert').filter({ hasText: 'No email address set.' }).waitFor();
        expect(await page.locator('#toasts').getAttribute('aria-live')).to.equal('polite');
        if (js === 'off') await landed(page);

        for (const width of [1280, 375]) {
          await page.setViewportSize({ width, height: 900 });
          const toastBox = await box(toast);
          await expectInView(page, toast, `the toast at ${width} px`);
          const controls = page.locator('.page-actions > a, .page-actions > .menu > summary, .signout button, .brand');
          for (let i = 0; i < (await controls.count()); i++) {
            const control = controls.nth(i);
            expect(overlap(toastBox, await box(control)), `toast over "${await control.innerText()}" at ${width} px`).to.equal(false);
          }
          if (width < 760)
            expect(overlap(toastBox, await box(page.locator('.sidebar'))), `toast over the header at ${width} px`).to.equal(false);
        }

        await toast.getByRole('button', { name: 'Dismiss message' }).click();
        await toast.waitFor({ state: 'hidden' });
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
