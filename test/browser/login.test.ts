import { expect } from 'chai';
import { createUser, PASSWORD } from '../support/app.js';
import { browserApp, checkAccessibility, type JsMode, landed, newContext, visit, watchErrors } from '../support/browser.js';

describe('browser: log in, see the Users page, log out', function () {
  this.timeout(120_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(f.t.db, { username: 'ada', name: 'Ada Lovelace', admin: true });
      await createUser(f.t.db, { username: 'bob', name: 'Bob Jones' });
    },
  });

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`works with JavaScript ${js}`, async () => {
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await visit(page, `${f.baseUrl}/directory/users`);
        expect(new URL(page.url()).pathname).to.equal('/login');
        await page.getByLabel('Username').fill('ada');
        await page.getByLabel('Password').fill('wrong password');
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByText('Invalid username or password.').waitFor();
        await landed(page);
        expect(await page.getByLabel('Username').inputValue()).to.equal('ada');

        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
        await landed(page);
        expect(new URL(page.url()).pathname).to.equal('/directory/users');
        expect(
          await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).getAttribute('aria-current'),
        ).to.equal('page');
        await page.getByText('Bob Jones').waitFor();

        await page.getByRole('link', { name: 'My account' }).click();
        await page.getByRole('heading', { name: 'My account' }).waitFor();
        await landed(page);
        expect(new URL(page.url()).pathname).to.equal('/me');

        await page.getByRole('button', { name: 'Log out' }).click();
        await page.getByText('You have been logged out.').waitFor();
        await landed(page);
        expect(new URL(page.url()).pathname).to.equal('/login');
        await page.goto(`${f.baseUrl}/directory/users`);
        expect(new URL(page.url()).pathname).to.equal('/login');
        expect(errors, 'browser console errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }

  it('the accessibility check fails on a page with serious violations', async () => {
    const context = await newContext(f.browser, 'off');
    const page = await context.newPage();
    try {
      await page.route('http://a11y.invalid/', (route) =>
        route.fulfill({
          contentType: 'text/html',
          // The faint text is faint only once the stylesheet has loaded: the check must wait for it.
          body:
            '<!doctype html><html lang="en"><head><title>Bad</title><link rel="stylesheet" href="data:text/css,p%7Bcolor:%23eee;background:%23fff%7D"></head>'
            + '<body><main><input name="q"><img src="x.png"><p>Faint text</p></main></body></html>',
        }),
      );
      await page.goto('http://a11y.invalid/');
      let failure = '';
      try {
        await checkAccessibility(page);
      } catch (err) {
        failure = (err as Error).message;
      }
      expect(failure).to.contain('label').and.contain('image-alt').and.contain('color-contrast');
    } finally {
      await context.close();
    }
  });

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`shows the 403 page to a signed-in non-administrator (JavaScript ${js})`, async () => {
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      try {
        await visit(page, `${f.baseUrl}/login`);
        await page.getByLabel('Username').fill('bob');
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('heading', { name: 'My account' }).waitFor();
        await visit(page, `${f.baseUrl}/directory/users`);
        await page.getByRole('heading', { name: 'Forbidden' }).waitFor();
      } finally {
        await context.close();
      }
    });
  }
});
