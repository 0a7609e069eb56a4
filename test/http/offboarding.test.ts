import { expect } from 'chai';
import type TestAgent from 'supertest/lib/agent.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { scheduleOffboarding } from '../../app/directory/users/offboarding/offboarding.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp } from '../support/app.js';

const DAY = 86_400_000;
/** A datetime-local value `days` from now, on the minute, and the moment it names (UTC). */
function inDays(days: number): { field: string; at: Date } {
  const at = new Date(Math.floor((Date.now() + days * DAY) / 60_000) * 60_000);
  return { field: at.toISOString().slice(0, 16), at };
}

describe('scheduled offboarding: the form, the list and cancelling', function () {
  this.timeout(60_000);
  let t: TestApp;
  let admin: TestAgent;
  let adminId: number;
  let anaId: number;
  let csrf: string;

  async function post(url: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    return admin
      .post(url)
      .type('form')
      .set(headers)
      .send({ _csrf: csrf, ...fields });
  }
  const scheduled = () => t.db('scheduled_actions').orderBy('id');
  const events = async (action: string) => (await t.db('events').where({ action }).orderBy('id')).map((e) => JSON.parse(e.context));

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', admin: true });
    anaId = await createUser(t.db, { username: 'ana', name: 'Ana Müller' });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
    csrf = await csrfOf(admin);
  });
  afterEach(() => t.close());

  it('schedules a deactivation at a time, shows it on the user page and in the list, and cancels it', async () => {
    const form = await admin.get(`/directory/users/${anaId}/offboarding`);
    expect(form.status).to.equal(200);
    expect(form.text).to.contain('Schedule offboarding of ana').and.contain('name="run_at"').and.contain('name="idle_days"');
    expect((await admin.get(`/directory/users/${anaId}`)).text).to.contain('>Schedule offboarding</a>');

    const when = inDays(3);
    const res = await post(`/directory/users/${anaId}/offboarding`, {
      action: 'deactivate',
      when: 'at',
      run_at: when.field,
      idle_days: '90',
      reason: 'Contract ends',
    });
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal(`/directory/users/${anaId}`);
    const [row] = await scheduled();
    expect(row).to.include({ user_id: anaId, action: 'deactivate', idle_days: null, reason: 'Contract ends', state: 'pending' });
    expect(row.created_by_id).to.equal(adminId);
    expect(new Date(row.run_at!).getTime()).to.equal(when.at.getTime());
    const [event] = await events('offboarding_scheduled');
    expect(event.model).to.include({ pk: anaId, name: 'ana' });
    expect(event.scheduled_action).to.include({ action: 'deactivate', reason: 'Contract ends', run_at: when.at.toISOString() });

    const page = await admin.get(`/directory/users/${anaId}`);
    expect(page.text)
      .to.contain('Scheduled: deactivation of ana on')
      .and.contain('Offboarding scheduled')
      .and.contain('Cancel offboarding');
    const list = await admin.get('/directory/users/scheduled');
    expect(list.status).to.equal(200);
    expect(list.text).to.contain(`id="scheduled-${row.id}"`).and.contain('Contract ends').and.contain('akadmin');
    expect((await admin.get('/directory/users')).text).to.contain('href="/directory/users/scheduled"');

    const cancel = await post(`/directory/users/scheduled/cancel?from=/directory/users/${anaId}`, { ids: String(row.id) });
    expect(cancel.status).to.equal(303);
    expect(cancel.headers.location).to.equal(`/directory/users/${anaId}`);
    expect(await scheduled()).to.deep.equal([]);
    const after = await admin.get(`/directory/users/${anaId}`);
    expect(after.text).to.contain('Cancelled: deactivation of ana on').and.contain('>Schedule offboarding</a>');
    const [cancelled] = await events('offboarding_cancelled');
    expect(cancelled.scheduled_action).to.include({ id: row.id, action: 'deactivate' });
  });

  it('schedules a deletion after days without login, due from the last login or the join date', async () => {
    const res = await post(`/directory/users/${anaId}/offboarding`, { action: 'delete', when: 'idle', idle_days: '30', run_at: '' });
    expect(res.status).to.equal(303);
    const [row] = await scheduled();
    const joined = new Date((await t.db('users').where({ id: anaId }).first())!.date_joined).getTime();
    expect(row).to.include({ action: 'delete', idle_days: 30, run_at: null });
    expect(new Date(row.due).getTime()).to.equal(joined + 30 * DAY);
    expect((await admin.get('/directory/users/scheduled')).text).to.contain('After 30 days without login');
    expect((await admin.get(`/directory/users/${anaId}`)).text).to.contain('Scheduled: deletion after 30 days without login');
  });

  it('a program may leave `when` out: it follows from the field sent', async () => {
    expect((await post(`/directory/users/${anaId}/offboarding`, { action: 'deactivate', idle_days: '7' })).status).to.equal(303);
    expect((await scheduled())[0]).to.include({ idle_days: 7 });
  });

  it('a new schedule replaces the pending one; the same one twice changes nothing and records once', async () => {
    const first = inDays(2);
    await post(`/directory/users/${anaId}/offboarding`, { action: 'deactivate', when: 'at', run_at: first.field });
    await post(`/directory/users/${anaId}/offboarding`, { action: 'deactivate', when: 'at', run_at: first.field });
    expect(await events('offboarding_scheduled')).to.have.length(1);
    await post(`/directory/users/${anaId}/offboarding`, { action: 'delete', when: 'idle', idle_days: '10' });
    const rows = await scheduled();
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ action: 'delete', idle_days: 10 });
    const [, replacing] = await events('offboarding_scheduled');
    expect(replacing.replaced).to.include({ action: 'deactivate', run_at: first.at.toISOString() });
    // The form to change it holds what is scheduled now.
    const form = await admin.get(`/directory/users/${anaId}/offboarding`);
    expect(form.text).to.contain('value="10"').and.contain('Scheduling again replaces it.');
  });

  it('refuses bad input with 422 and a message on the field, keeping what was typed', async () => {
    const cases: [Record<string, string>, string, string][] = [
      [{ action: 'deactivate', when: 'at', run_at: inDays(-1).field }, 'run_at', 'Choose a time in the future'],
      [{ action: 'deactivate', when: 'at', run_at: '' }, 'run_at', 'Enter a date and time (UTC)'],
      [{ action: 'deactivate', when: 'at', run_at: '2027-02-31T10:00' }, 'run_at', 'Enter a date and time such as'],
      [{ action: 'deactivate', when: 'at', run_at: 'tomorrow' }, 'run_at', 'Enter a date and time such as'],
      [{ action: 'deactivate', when: 'idle', idle_days: '0' }, 'idle_days', 'Enter a whole number of days from 1 to 3650'],
      [{ action: 'deactivate', when: 'idle', idle_days: '3651' }, 'idle_days', 'Enter a whole number of days from 1 to 3650'],
      [{ action: 'deactivate', when: 'idle', idle_days: '1.5' }, 'idle_days', 'Enter a whole number of days from 1 to 3650'],
      [{ action: 'deactivate', when: 'idle', idle_days: '-3' }, 'idle_days', 'Enter a whole number of days from 1 to 3650'],
      [{ action: 'suspend', when: 'idle', idle_days: '5' }, 'action', 'Choose deactivate or delete'],
      [{ action: 'constructor', when: 'idle', idle_days: '5' }, 'action', 'Choose deactivate or delete'],
      [{ action: 'delete', when: 'later', idle_days: '5' }, 'when', 'Choose when'],
      [{ action: 'delete', when: 'idle', idle_days: '5', reason: 'x'.repeat(201) }, 'reason', 'Use at most 200 characters'],
      [{ action: 'delete', when: 'idle', idle_days: '5', reason: 'line\nbreak' }, 'reason', 'Remove the control characters'],
    ];
    for (const [fields, field, message] of cases) {
      const res = await post(`/directory/users/${anaId}/offboarding`, { idle_days: '90', ...fields });
      expect(res.status, JSON.stringify(fields)).to.equal(422);
      expect(res.text, JSON.stringify(fields)).to.contain(`id="${field}-error"`).and.contain(message);
    }
    const typed = await post(`/directory/users/${anaId}/offboarding`, {
      action: 'delete',
      when: 'idle',
      idle_days: '99999',
      reason: 'Left <b>',
    });
    expect(typed.text).to.contain('value="99999"').and.contain('value="Left &lt;b&gt;"');
    expect(await scheduled()).to.deep.equal([]);
    expect(await events('offboarding_scheduled')).to.deep.equal([]);
  });

  it("refuses the acting administrator's own offboarding, and hides the button on their page", async () => {
    const res = await post(`/directory/users/${adminId}/offboarding`, { action: 'delete', when: 'idle', idle_days: '5' });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('You cannot schedule your own deactivation or deletion');
    expect((await admin.get(`/directory/users/${adminId}`)).text).to.not.contain('Schedule offboarding');
    expect(await scheduled()).to.deep.equal([]);
  });

  it('refuses to schedule the deactivation of a deactivated user, but not their deletion', async () => {
    await t.db('users').where({ id: anaId }).update({ is_active: false });
    const res = await post(`/directory/users/${anaId}/offboarding`, { action: 'deactivate', when: 'idle', idle_days: '5' });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('ana is deactivated already');
    expect((await post(`/directory/users/${anaId}/offboarding`, { action: 'delete', when: 'idle', idle_days: '5' })).status).to.equal(303);
  });

  it('answers programs with JSON errors, and htmx with the modal', async () => {
    const json = await post(
      `/directory/users/${anaId}/offboarding`,
      { action: 'nope', when: 'idle', idle_days: '5' },
      { Accept: 'application/json' },
    );
    expect(json.status).to.equal(422);
    expect(json.body.errors).to.deep.equal({ action: 'Choose deactivate or delete' });

    const modal = await admin.get(`/directory/users/${anaId}/offboarding`).set('HX-Request', 'true').set('HX-Target', 'div#modal');
    expect(modal.text).to.match(/^<dialog class="modal"/);
    const done = await post(
      `/directory/users/${anaId}/offboarding`,
      { action: 'deactivate', when: 'idle', idle_days: '5' },
      { 'HX-Request': 'true', 'HX-Target': 'div#modal' },
    );
    expect(done.status).to.equal(200);
    expect(done.headers['hx-trigger']).to.equal('users-changed');
    expect(done.text).to.contain('Scheduled: deactivation of ana after 5 days without login.');

    const token = await createToken(
      t.db,
      { identifier: 'hr-sync', description: '', ownerId: adminId, expires: null },
      {
        id: adminId,
        username: 'akadmin',
        email: '',
      },
    );
    if (!token.ok) throw new Error('token');
    const bearer = await agentFor(t.app)
      .post(`/directory/users/${anaId}/offboarding`)
      .set('Authorization', `Bearer ${token.key}`)
      .type('form')
      .send({ action: 'delete', run_at: inDays(1).field });
    expect(bearer.status).to.equal(303);
    expect((await scheduled())[0]).to.include({ action: 'delete' });
  });

  it('lists pending and failed actions by due time, either way, a page at a time, and cancels ticked rows after a review', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 53; i++) ids.push(await createUser(t.db, { username: `u${String(i).padStart(2, '0')}` }));
    const actor = { id: adminId, username: 'akadmin', email: '' };
    for (const [i, id] of ids.entries())
      await scheduleOffboarding(
        t.db,
        [id],
        { action: 'deactivate', when: { at: new Date(Date.now() + (i + 1) * DAY) }, reason: '' },
        actor,
      );
    await t
      .db('scheduled_actions')
      .where({ user_id: ids[52] })
      .update({ state: 'failed', failure: 'This would leave no active administrator' });

    const first = await admin.get('/directory/users/scheduled');
    const order = (html: string) => [...html.matchAll(/<a href="\/directory\/users\/\d+">(u\d\d)<\/a>/g)].map((m) => m[1]);
    expect(order(first.text)).to.deep.equal(ids.slice(0, 50).map((_, i) => `u${String(i).padStart(2, '0')}`));
    const next = /<a rel="next" href="([^"]+)"/.exec(first.text)![1].replace(/&amp;/g, '&');
    const second = await admin.get(next);
    expect(order(second.text)).to.deep.equal(['u50', 'u51', 'u52']);
    expect(second.text).to.contain('Failed').and.contain('This would leave no active administrator');
    const latest = await admin.get('/directory/users/scheduled?sort=-due');
    expect(order(latest.text).slice(0, 2)).to.deep.equal(['u52', 'u51']);
    const fragment = await admin
      .get('/directory/users/scheduled?sort=-due')
      .set('HX-Request', 'true')
      .set('HX-Target', 'div#scheduled-table');
    expect(fragment.text).to.match(/^<div id="scheduled-table"/);

    const rows = await scheduled();
    const picked = rows.slice(0, 3).map((r) => String(r.id));
    const review = await admin.get(`/directory/users/scheduled/cancel?ids=${picked.join(',')}`);
    expect(review.status).to.equal(200);
    expect(review.text).to.contain('Remove 3 scheduled actions?').and.contain('u00').and.contain('deactivation on');
    const res = await post('/directory/users/scheduled/cancel', { ids: picked });
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/directory/users/scheduled');
    expect((await admin.get('/directory/users/scheduled')).text).to.contain('3 scheduled actions cancelled.');
    expect(await scheduled()).to.have.length(50);
    expect(await events('offboarding_cancelled')).to.have.length(3);
    // Again: nothing left to cancel, nothing recorded.
    const again = await post('/directory/users/scheduled/cancel', { ids: picked });
    expect(again.status).to.equal(422);
    expect(await events('offboarding_cancelled')).to.have.length(3);
  });

  it('schedules many users in one call, with a result for each (for the bulk action)', async () => {
    const ben = await createUser(t.db, { username: 'ben', isActive: false });
    const actor = { id: adminId, username: 'akadmin', email: '' };
    const spec = { action: 'deactivate' as const, when: { idleDays: 60 }, reason: 'Audit' };
    await scheduleOffboarding(t.db, [anaId], { ...spec, when: { idleDays: 5 } }, actor);
    const results = await scheduleOffboarding(t.db, [anaId, ben, adminId, 999_999], spec, actor);
    expect(results).to.deep.equal([
      { userId: anaId, username: 'ana', outcome: 'replaced' },
      { userId: ben, username: 'ben', outcome: 'skipped', why: 'ben is deactivated already' },
      { userId: adminId, username: 'akadmin', outcome: 'skipped', why: 'You cannot schedule your own deactivation or deletion' },
      { userId: 999_999, username: null, outcome: 'skipped', why: 'no longer exists' },
    ]);
    try {
      await scheduleOffboarding(t.db, [anaId], { ...spec, when: { at: new Date(Date.now() - 1000) } }, actor);
      expect.fail('a time in the past is refused');
    } catch (err) {
      expect((err as Error).message).to.equal('Choose a time in the future.');
    }
  });

  it('the same schedule or cancel sent twice at once: one row, one event each (MariaDB in parallel)', async () => {
    const fields = { action: 'deactivate', when: 'idle', idle_days: '14' };
    const responses = await Promise.all([1, 2, 3].map(() => post(`/directory/users/${anaId}/offboarding`, fields)));
    expect(responses.map((r) => r.status)).to.deep.equal([303, 303, 303]);
    const rows = await scheduled();
    expect(rows).to.have.length(1);
    expect(await events('offboarding_scheduled')).to.have.length(1);

    const different = await Promise.all(
      ['3', '4'].map((days) => post(`/directory/users/${anaId}/offboarding`, { ...fields, idle_days: days })),
    );
    expect(different.map((r) => r.status)).to.deep.equal([303, 303]);
    expect(await scheduled()).to.have.length(1);

    const [id] = (await scheduled()).map((r) => String(r.id));
    // The second finds it gone: before it looked (nothing selected, 422) or after (nothing cancelled, 303).
    const cancels = await Promise.all([1, 2].map(() => post('/directory/users/scheduled/cancel', { ids: id })));
    expect(cancels.map((r) => r.status)).to.include(303);
    for (const r of cancels) expect(r.status).to.be.oneOf([303, 422]);
    expect(await scheduled()).to.deep.equal([]);
    expect(await events('offboarding_cancelled')).to.have.length(1);
  });

  it('survives hostile values in every field and the query', async () => {
    for (const value of ['constructor', '__proto__', '9'.repeat(400), '\u0000', '2027-01-01T00:00\u202e', '１２', '+5', '5e3', ' ']) {
      for (const name of ['action', 'when', 'run_at', 'idle_days', 'reason']) {
        const res = await post(`/directory/users/${anaId}/offboarding`, { action: 'delete', when: 'idle', idle_days: '5', [name]: value });
        expect(res.status, `${name}=${JSON.stringify(value)}`).to.be.oneOf([303, 422]);
      }
      for (const query of [
        `sort=${encodeURIComponent(value)}`,
        `after=${encodeURIComponent(value)}`,
        'after=999999999999999.1',
        `ids=${encodeURIComponent(value)}`,
      ]) {
        expect((await admin.get(`/directory/users/scheduled?${query}`)).status, query).to.equal(200);
        expect((await admin.get(`/directory/users/scheduled/cancel?${query}`)).status, query).to.be.oneOf([200, 303]);
      }
    }
    const arrays = await admin
      .post(`/directory/users/${anaId}/offboarding`)
      .type('form')
      .send(`_csrf=${encodeURIComponent(csrf)}&action=delete&action=x&idle_days[a]=1&when[]=idle`);
    expect(arrays.status).to.equal(422);
  });

  it('needs a CSRF token and an administrator', async () => {
    const res = await admin
      .post(`/directory/users/${anaId}/offboarding`)
      .type('form')
      .send({ action: 'delete', when: 'idle', idle_days: '5' });
    expect(res.status).to.equal(403);
    const user = agentFor(t.app);
    await login(user, 'ana');
    expect((await user.get('/directory/users/scheduled')).status).to.equal(403);
    expect(await scheduled()).to.deep.equal([]);
  });
});
