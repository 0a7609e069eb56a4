import net from 'node:net';
import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { agentFor, createUser, csrfFrom, csrfOf, login, PASSWORD, type TestApp, testApp } from '../support/app.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';

async function dumpDatabase(t: TestApp): Promise<string> {
  const tables = ['users', 'groups', 'group_memberships', 'sessions', 'events', 'recovery_tokens'] as const;
  return JSON.stringify(await Promise.all(tables.map((table) => t.db(table).select())));
}

describe('recovery links', function () {
  this.timeout(30_000);
  let smtp: TestSmtp;
  let t: TestApp;
  let admin: TestAgent;
  let anaId: number;

  async function post(url: string, fields: Record<string, string> = {}, headers: Record<string, string> = {}) {
    return admin
      .post(url)
      .type('form')
      .set(headers)
      .send({ _csrf: await csrfOf(admin), ...fields });
  }

  /** Copies a link with a plain form post (no JavaScript): a redirect to the page that shows it. */
  async function copyLink(url: string, fields: Record<string, string> = {}) {
    const posted = await post(url, fields);
    expect(posted.status, 'the POST redirects').to.equal(303);
    return admin.get(posted.headers.location);
  }

  /** Follows a recovery link as the user would: open it, set a password. */
  async function redeem(link: string, password: string) {
    const path = new URL(link).pathname;
    const agent = agentFor(t.app);
    const page = await agent.get(path);
    if (page.status !== 200) return page;
    return agent
      .post(path)
      .type('form')
      .send({ _csrf: csrfFrom(page.text), password, password_repeat: password });
  }

  before(async () => {
    smtp = await startSmtp();
  });
  after(() => smtp.close());

  beforeEach(async () => {
    smtp.messages.length = 0;
    smtp.rejectRecipients(false);
    t = await testApp({ SMTP_URL: smtp.url, PUBLIC_URL: 'http://id.example.com' });
    await createUser(t.db, { username: 'akadmin', admin: true });
    anaId = await createUser(t.db, { username: 'ana', name: 'Ana Müller', email: 'ana@example.com' });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
  });
  afterEach(() => t.close());

  it('e-mails a link that sets the password once; the old password stops working', async () => {
    const res = await post(`/directory/users/${anaId}/recovery-email`, { from: '/directory/users' });
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/directory/users');
    expect((await admin.get('/directory/users')).text).to.contain('Recovery link sent to ana@example.com');
    expect(smtp.messages).to.have.length(1);
    const mail = smtp.messages[0];
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').to.contain('ana@example.com');
    expect(mail.subject).to.equal('Reset your password');
    const link = /http:\/\/id\.example\.com\/recovery\/[\w-]{43}/.exec(mail.text!)![0];
    expect(mail.html).to.contain(link).and.contain('Ana Müller');
    expect(mail.text).to.contain('ana').and.contain('UTC');
    const token = link.split('/').pop()!;
    expect(await dumpDatabase(t)).to.not.contain(token);
    expect(await t.db('events').where({ action: 'email_sent' }).first()).to.not.equal(undefined);

    const ana = agentFor(t.app);
    await login(ana, 'ana');
    const set = await redeem(link, 'a brand new passphrase');
    expect(set.status).to.equal(303);
    expect(set.headers.location).to.equal('/login');
    expect((await ana.get('/me')).status, 'sessions end with the new password').to.equal(303);
    expect((await login(agentFor(t.app), 'ana', 'a brand new passphrase')).status).to.equal(303);
    expect((await login(agentFor(t.app), 'ana', PASSWORD)).status).to.equal(401);
    expect((await redeem(link, 'yet another passphrase')).status).to.equal(410);
    expect(await t.db('events').where({ action: 'password_set', user_pk: anaId }).first()).to.not.equal(undefined);
  });

  it('refuses an expired link', async () => {
    await post(`/directory/users/${anaId}/recovery-email`);
    const link = /https?:\/\/\S+\/recovery\/[\w-]{43}/.exec(smtp.messages[0].text!)![0];
    await t.db('recovery_tokens').update({ expires: new Date(Date.now() - 1000) });
    const res = await redeem(link, 'a brand new passphrase');
    expect(res.status).to.equal(410);
    expect(res.text).to.contain('This link has expired or was already used');
  });

  it('copies a link: shown with its expiry, recorded as secret_view, never stored in clear, older links revoked', async () => {
    const first = await copyLink(`/directory/users/${anaId}/recovery-link`);
    expect(first.status).to.equal(200);
    expect(first.headers['cache-control']).to.equal('no-store');
    const firstLink = /value="(http:\/\/id\.example\.com\/recovery\/[\w-]{43})"/.exec(first.text)![1];
    expect(first.text).to.contain('It works once, until').and.contain('data-copy="#recovery-link"');
    expect(await t.db('events').where({ action: 'secret_view' }).first()).to.not.equal(undefined);

    const longer = await post(
      `/directory/users/${anaId}/recovery-link`,
      { ttl: String(24 * 3_600_000) },
      { 'HX-Request': 'true', 'HX-Target': 'div#modal' },
    );
    expect(longer.text).to.match(/^<dialog class="modal"/);
    const secondLink = /value="(https?:\/\/\S+\/recovery\/[\w-]{43})"/.exec(longer.text)![1];
    const row = await t.db('recovery_tokens').where({ user_id: anaId }).first();
    expect(new Date(row!.expires as never).getTime() - Date.now()).to.be.greaterThan(23 * 3_600_000);
    expect(await dumpDatabase(t)).to.not.contain(secondLink.split('/').pop()!);
    expect((await redeem(firstLink, 'a brand new passphrase')).status, 'older link').to.equal(410);
    expect((await redeem(secondLink, 'a brand new passphrase')).status).to.equal(303);
  });

  it('without JavaScript: the POST makes the link, the page after the redirect shows it once, a reload makes none, Done goes back', async () => {
    const list = '/directory/users?path=users&q=an&page=2';
    const posted = await post('/directory/users/recovery-link', { id: String(anaId), from: list });
    expect(posted.status).to.equal(303);
    expect(posted.headers.location).to.equal(`/directory/users/${anaId}/recovery-link?from=${encodeURIComponent(list)}`);
    const shown = await admin.get(posted.headers.location);
    expect(shown.status).to.equal(200);
    expect(shown.headers['cache-control']).to.equal('no-store');
    const link = /value="(http:\/\/id\.example\.com\/recovery\/[\w-]{43})"/.exec(shown.text)![1];
    expect(shown.text).to.contain('href="/directory/users?path=users&amp;q=an&amp;page=2">Done</a>');

    const reloaded = await admin.get(posted.headers.location);
    expect(reloaded.status).to.equal(200);
    expect(reloaded.text).to.contain('shown only once').and.not.contain('/recovery/');
    expect(reloaded.text).to.contain('href="/directory/users?path=users&amp;q=an&amp;page=2">Done</a>');
    expect(await t.db('recovery_tokens').where({ user_id: anaId }).count({ n: '*' }).first()).to.deep.include({ n: 1 });
    expect(await t.db('events').where({ action: 'secret_view' }).count({ n: '*' }).first()).to.deep.include({ n: 1 });
    expect((await redeem(link, 'a brand new passphrase')).status, 'the link shown still works').to.equal(303);

    // A link waiting for one user is never shown on another user's page; a foreign `from` is ignored.
    const bobId = await createUser(t.db, { username: 'bob' });
    const again = await post(`/directory/users/${anaId}/recovery-link`, { from: 'https://evil.example/' });
    expect(again.headers.location).to.equal(`/directory/users/${anaId}/recovery-link`);
    expect((await admin.get(`/directory/users/${bobId}/recovery-link`)).text)
      .to.contain('shown only once')
      .and.not.contain('/recovery/');
    expect((await admin.get(again.headers.location)).text).to.match(/value="http:\/\/id\.example\.com\/recovery\/[\w-]{43}"/);
  });

  it('without JavaScript: a link replaced before its page was shown (a second click, another administrator) is not shown', async () => {
    const posted = await post(`/directory/users/${anaId}/recovery-link`);
    expect(posted.status).to.equal(303);
    // Another administrator makes a newer link before this page is opened.
    const other = await post(`/directory/users/${anaId}/recovery-link`, {}, { 'HX-Request': 'true', 'HX-Target': 'div#modal' });
    expect(other.status).to.equal(200);
    const shown = await admin.get(posted.headers.location);
    expect(shown.status).to.equal(200);
    expect(shown.text).to.contain('this one no longer works').and.not.contain('/recovery/');
  });

  it('takes the user as the field id at /directory/users/recovery-link and …/recovery-email, as the list posts them', async () => {
    const page = (await admin.get('/directory/users')).text;
    expect(page)
      .to.contain(`<button form="copy-link" name="id" value="${anaId}">Copy recovery link</button>`)
      .and.contain('<form id="copy-link" method="post" action="/directory/users/recovery-link"')
      .and.contain('<form id="email-link" method="post" action="/directory/users/recovery-email"');
    const copied = await copyLink('/directory/users/recovery-link', { id: String(anaId) });
    expect(copied.status).to.equal(200);
    expect(copied.text).to.contain('Recovery link for ana');
    expect(await t.db('recovery_tokens').where({ user_id: anaId }).first()).to.not.equal(undefined);
    const sent = await post('/directory/users/recovery-email', { id: String(anaId), from: '/directory/users?q=an' });
    expect(sent.status).to.equal(303);
    expect(sent.headers.location).to.equal('/directory/users?q=an');
    expect(smtp.messages).to.have.length(1);
    for (const id of ['', 'abc', '999999']) {
      const res = await post('/directory/users/recovery-email', { id });
      expect(res.status, `id "${id}"`).to.equal(404);
      expect(res.text).to.contain('There is no such user');
    }
    expect(smtp.messages).to.have.length(1);
    const forged = await admin
      .post('/directory/users/recovery-link')
      .type('form')
      .send({ id: String(anaId) });
    expect(forged.status, 'without a CSRF token').to.equal(403);
  });

  it('ignores a lifetime outside the list and uses RECOVERY_TOKEN_TTL', async () => {
    await post(`/directory/users/${anaId}/recovery-link`, { ttl: String(365 * 86_400_000) });
    const row = await t.db('recovery_tokens').where({ user_id: anaId }).first();
    const minutes = (new Date(row!.expires as never).getTime() - Date.now()) / 60_000;
    expect(minutes).to.be.within(29, 30.1);
  });

  it('says "No email address set." for a user without e-mail, and sends nothing', async () => {
    const bobId = await createUser(t.db, { username: 'bob' });
    const res = await post(`/directory/users/${bobId}/recovery-email`, {}, { 'HX-Request': 'true', 'HX-Target': 'div#modal' });
    expect(res.status).to.equal(422);
    expect(res.headers['hx-reswap']).to.equal('none');
    expect(res.text).to.contain('No email address set.');
    expect(smtp.messages).to.have.length(0);
    expect(await t.db('recovery_tokens').where({ user_id: bobId }).first()).to.equal(undefined);
  });

  it('reports a refused recipient clearly, and leaves earlier links working', async () => {
    const copied = await copyLink(`/directory/users/${anaId}/recovery-link`);
    const earlier = /value="(https?:\/\/\S+\/recovery\/[\w-]{43})"/.exec(copied.text)![1];
    smtp.rejectRecipients(true);
    const res = await post(`/directory/users/${anaId}/recovery-email`, {}, { 'HX-Request': 'true', 'HX-Target': 'div#modal' });
    expect(res.status).to.equal(502);
    expect(res.text).to.contain('could not be sent').and.contain('Nothing was changed');
    expect(await t.db('recovery_tokens').where({ user_id: anaId }).count({ n: '*' }).first()).to.deep.include({ n: 1 });
    expect(await t.db('events').where({ action: 'email_sent' }).first()).to.equal(undefined);
    expect((await redeem(earlier, 'a brand new passphrase')).status).to.equal(303);
  });

  it('reports an unreachable mail server clearly and quickly, never a 500', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const down = await testApp({ SMTP_URL: `smtp://127.0.0.1:${closed}` });
    try {
      await createUser(down.db, { username: 'boss', admin: true });
      const id = await createUser(down.db, { username: 'carl', email: 'carl@example.com' });
      const boss = agentFor(down.app);
      await login(boss, 'boss');
      const res = await boss
        .post(`/directory/users/${id}/recovery-email`)
        .type('form')
        .send({ _csrf: await csrfOf(boss) });
      expect(res.status).to.equal(303);
      expect((await boss.get(res.headers.location)).text)
        .to.contain('could not be sent')
        .and.contain('ECONNREFUSED');
      expect(await down.db('recovery_tokens').first()).to.equal(undefined);
    } finally {
      await down.close();
    }
  });

  it('says e-mail is not set up when SMTP_URL is missing', async () => {
    const noMail = await testApp();
    try {
      await createUser(noMail.db, { username: 'boss', admin: true });
      const id = await createUser(noMail.db, { username: 'carl', email: 'carl@example.com' });
      const boss = agentFor(noMail.app);
      await login(boss, 'boss');
      const res = await boss
        .post(`/directory/users/${id}/recovery-email`)
        .type('form')
        .set('HX-Request', 'true')
        .send({ _csrf: await csrfOf(boss) });
      expect(res.status).to.equal(503);
      expect(res.text).to.contain('E-mail is not set up: set SMTP_URL');
    } finally {
      await noMail.close();
    }
  });

  it('does not let a deactivated user recover', async () => {
    const link = /value="(https?:\/\/\S+\/recovery\/[\w-]{43})"/.exec((await copyLink(`/directory/users/${anaId}/recovery-link`)).text)![1];
    await t.db('users').where({ id: anaId }).update({ is_active: false });
    expect((await redeem(link, 'a brand new passphrase')).status).to.equal(410);
  });

  it("lets an administrator set a password, ending the user's sessions", async () => {
    const ana = agentFor(t.app);
    await login(ana, 'ana');
    const form = await admin.get(`/directory/users/${anaId}/password`);
    expect(form.text).to.contain('name="password_repeat"');
    const bad = await post(`/directory/users/${anaId}/password`, { password: 'short', password_repeat: 'short' });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('Use at least 8 characters');
    const mismatch = await post(`/directory/users/${anaId}/password`, { password: 'long enough 1', password_repeat: 'long enough 2' });
    expect(mismatch.text).to.contain('The two passwords do not match');
    const res = await post(`/directory/users/${anaId}/password`, { password: 'set by the admin', password_repeat: 'set by the admin' });
    expect(res.status).to.equal(303);
    expect((await ana.get('/me')).status).to.equal(303);
    expect((await login(agentFor(t.app), 'ana', 'set by the admin')).status).to.equal(303);
    expect(await t.db('events').where({ action: 'password_set' }).first()).to.not.equal(undefined);
  });

  it('keeps the administrator signed in when they set their own password', async () => {
    const adminId = (await t.db('users').where({ username: 'akadmin' }).first())!.id;
    const res = await post(`/directory/users/${adminId}/password`, { password: 'my new passphrase', password_repeat: 'my new passphrase' });
    expect(res.status).to.equal(303);
    expect((await admin.get('/directory/users')).status).to.equal(200);
  });
});
