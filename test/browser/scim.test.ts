import { expect } from 'chai';
import { createUser } from '../support/app.js';
import { browserApp, type JsMode, landed, logIn, newContext, visit, watchErrors } from '../support/browser.js';

// An administrator makes a SCIM token bound to a folder on the tokens page, a provisioning client
// uses it, and the administrator sees what it provisioned: on the user's page and in the tokens table.
describe('browser: a SCIM provisioning token, from the tokens page to a provisioned user', function () {
  this.timeout(120_000);
  const f = browserApp({
    setup: async (t) => {
      await createUser(t.db, { username: 'akadmin', admin: true });
    },
  });

  for (const js of ['on', 'off'] as JsMode[]) {
    it(`makes a folder-bound SCIM token and shows what it provisioned (JavaScript ${js})`, async () => {
      const identifier = `hr-idp-${js}`;
      const context = await newContext(f.browser, js);
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await logIn(page, f.baseUrl, 'akadmin');
        await page.waitForURL((url) => url.pathname !== '/login');
        await visit(page, `${f.baseUrl}/directory/tokens`);
        await page.getByRole('link', { name: 'Create' }).click();
        await page.getByLabel('Identifier').waitFor();
        await page.getByLabel('Identifier').fill(identifier);
        await page.getByLabel('SCIM provisioning (/scim/v2 only)').check();
        await page.getByLabel('Folder').fill('users/hr');
        await page.getByRole('button', { name: 'Create' }).click();
        const key = await page.locator('#api-key').inputValue();
        expect(key).to.match(/^rst_/);
        await landed(page);
        await page.getByText('it works in the folder users/hr and below').waitFor();

        // The provisioning client, a program with the key.
        const created = await fetch(`${f.baseUrl}/scim/v2/Users`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/scim+json' },
          body: JSON.stringify({
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
            userName: `maria-${js}@hr.example`,
            externalId: `ext-${js}-42`,
            name: { givenName: 'Maria', familyName: 'Silva' },
          }),
        });
        expect(created.status).to.equal(201);
        const user = (await created.json()) as { id: string };

        await visit(page, `${f.baseUrl}/directory/users/${user.id}`);
        const details = page.locator('main');
        await details.getByText(`ext-${js}-42`).waitFor();
        await details.getByRole('link', { name: identifier }).waitFor();
        await details.getByText('users/hr', { exact: true }).first().waitFor();

        await visit(page, `${f.baseUrl}/directory/tokens`);
        const row = page.locator('tr, article, li').filter({ hasText: identifier }).first();
        await row.getByText('1 user, 0 groups').waitFor();
        expect(errors, 'browser errors').to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
