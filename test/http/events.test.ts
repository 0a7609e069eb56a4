import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { agentFor, createUser, login, type TestApp, testApp } from '../support/app.js';

describe('User events tab and recent actions', () => {
  let t: TestApp;
  let admin: TestAgent;
  let anaId: number;

  const rows = (html: string) => [...html.matchAll(/<tr id="event-(\d+)">/g)].map((m) => Number(m[1]));
  const link = (html: string, rel: string) =>
    /<a rel="(?:next|prev)"/.test(html) ? new RegExp(`<a rel="${rel}" href="([^"]+)"`).exec(html)?.[1].replace(/&amp;/g, '&') : undefined;

  beforeEach(async () => {
    t = await testApp();
    await createUser(t.db, { username: 'akadmin', admin: true });
    anaId = await createUser(t.db, { username: 'ana', email: 'ana@example.com' });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
    const base = Date.UTC(2026, 0, 1);
    const user = JSON.stringify({ pk: anaId, username: 'ana', email: 'ana@example.com' });
    await t.db('events').insert(
      Array.from({ length: 120 }, (_, i) => ({
        action: i % 4 === 0 ? 'login_failed' : 'login',
        user_pk: anaId,
        user,
        app: 'roster.auth',
        context: JSON.stringify({ n: i, note: '<i>ctx</i>' }),
        client_ip: '10.0.0.1',
        // Pairs share a timestamp: the keyset's id tiebreak must keep every event exactly once.
        created: new Date(base + Math.floor(i / 2) * 3_600_000),
      })),
    );
  });
  afterEach(() => t.close());

  it('pages through every event newest first, and back', async () => {
    let url: string | undefined = `/directory/users/${anaId}/events`;
    const pages: number[][] = [];
    while (url) {
      const res = await admin.get(url);
      expect(res.status).to.equal(200);
      pages.push(rows(res.text));
      url = link(res.text, 'next');
    }
    expect(pages.map((p) => p.length)).to.deep.equal([50, 50, 20]);
    const all = pages.flat();
    expect(new Set(all).size).to.equal(120);
    const third = await admin.get(
      `/directory/users/${anaId}/events${link((await admin.get(link((await admin.get(`/directory/users/${anaId}/events`)).text, 'next')!)).text, 'next')!.split('/events')[1]}`,
    );
    const back = await admin.get(link(third.text, 'prev')!);
    expect(rows(back.text)).to.deep.equal(pages[1]);
  });

  it("filters by action and by days, and shows each event's context escaped", async () => {
    const failed = await admin.get(`/directory/users/${anaId}/events?action=login_failed`);
    expect(rows(failed.text)).to.have.length(30);
    expect(failed.text).to.contain('&lt;i&gt;ctx&lt;/i&gt;').and.not.contain('<i>ctx</i>');
    const day = await admin.get(`/directory/users/${anaId}/events?from=2026-01-02&to=2026-01-02`);
    expect(rows(day.text)).to.have.length(48);
  });

  it('refuses a malformed date or an unknown action with 422 on the field', async () => {
    for (const [query, field] of [
      ['from=yesterday', 'from'],
      ['to=2026-13-45', 'to'],
      ['action=hack', 'action'],
      ['from=2026-02-01&to=2026-01-01', 'to'],
    ]) {
      const res = await admin.get(`/directory/users/${anaId}/events?${query}`);
      expect(res.status, query).to.equal(422);
      expect(res.text).to.contain(`id="${field}-error"`);
    }
  });

  it('shows the latest actions on the overview with a link to the tab', async () => {
    const res = await admin.get(`/directory/users/${anaId}`);
    expect(res.text).to.contain('Recent actions').and.contain(`href="/directory/users/${anaId}/events"`);
    expect(res.text.match(/class="event-action"/g)).to.have.length(5);
  });

  it('swaps only the tab region for htmx', async () => {
    const res = await admin
      .get(`/directory/users/${anaId}/events?action=login`)
      .set('HX-Request', 'true')
      .set('HX-Target', 'div#user-tabs');
    expect(res.text)
      .to.match(/^<div id="user-tabs"/)
      .and.contain('aria-current="page">User events');
  });
});
