import { expect } from 'chai';
import { scheduleOffboarding } from '../../app/directory/users/offboarding/offboarding.js';
import { createUser, PASSWORD } from '../support/app.js';
import { type Cluster, startCluster } from '../support/cluster.js';

/** A browser of its own: its cookies, and the address it comes from. */
class Client {
  private cookies = new Map<string, string>();
  constructor(private readonly address = '203.0.113.7') {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const response = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        'x-forwarded-for': this.address,
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  }

  /** The CSRF token of a page. */
  async csrf(url: string): Promise<string> {
    const html = await (await this.request(url)).text();
    const match = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!match) throw new Error(`no CSRF field on ${url}`);
    return match[1];
  }

  async logIn(base: string, username: string, password = PASSWORD): Promise<Response> {
    const _csrf = await this.csrf(`${base}/login`);
    return this.request(`${base}/login`, { form: { _csrf, username, password } });
  }
}

/**
 * Two Roster processes on one database behind HAProxy (issue 17): what one process changes, the
 * other sees at its next request, because every piece of state that decides anything is in the
 * database.
 */
describe('two processes behind a load balancer', function () {
  this.timeout(120_000);
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster(2, { SCHEDULER_INTERVAL: '1s' });
  });
  after(() => cluster?.stop());

  it('sends requests to both processes in turn', async () => {
    const servedBy = new Set<string | null>();
    for (let i = 0; i < 4; i++) servedBy.add((await fetch(`${cluster.url}/-/health/live/`)).headers.get('x-served-by'));
    expect([...servedBy].sort()).to.deep.equal(['a', 'b']);
  });

  it('every process signs OAuth tokens with the same key, made once by the first to need it', async () => {
    const keys = await Promise.all(
      Object.values(cluster.processes).map(
        async (base) => (await (await fetch(`${base}/oauth/jwks`)).json()) as { keys: { kid: string }[] },
      ),
    );
    expect(keys[0].keys).to.have.length(1);
    expect(keys[1]).to.deep.equal(keys[0]);
    expect(await cluster.db('oauth_keys').count({ n: '*' }).first()).to.deep.include({ n: 1 });
  });

  it('signs in through the balancer, its form and session spread over both processes', async () => {
    const username = `spread${Date.now()}`;
    await createUser(cluster.db, { username });
    const client = new Client();
    const login = await client.logIn(cluster.url, username);
    expect(login.status).to.equal(303);
    for (const base of Object.values(cluster.processes)) expect((await client.request(`${base}/me`)).status).to.equal(200);
  });

  it('failed logins sent to both processes count together', async () => {
    const username = `guessed${Date.now()}`;
    await createUser(cluster.db, { username });
    const guesser = new Client('198.51.100.20');
    const servedBy = new Set<string | null>();
    // One page, then five posts of its form in a row: the balancer sends them to a, b, a, b, a.
    let _csrf = await guesser.csrf(`${cluster.url}/login`);
    for (let i = 0; i < 5; i++) {
      const failed = await guesser.request(`${cluster.url}/login`, { form: { _csrf, username, password: `wrong ${i}` } });
      expect(failed.status).to.equal(401);
      servedBy.add(failed.headers.get('x-served-by'));
      _csrf = /name="_csrf" value="([^"]+)"/.exec(await failed.text())![1];
    }
    expect([...servedBy].sort(), 'the failures went to both processes').to.deep.equal(['a', 'b']);
    // The fifth failure held this address back from the account, on every process.
    for (const base of Object.values(cluster.processes)) expect((await guesser.logIn(base, username)).status, base).to.equal(429);
    // Someone else, from another address, still gets in.
    expect((await new Client('198.51.100.21').logIn(cluster.url, username)).status).to.equal(303);
  });

  it('a scheduled deactivation runs once, by whichever process holds the lease', async () => {
    const adminId = await createUser(cluster.db, { username: `scheduler${Date.now()}`, admin: true });
    const userId = await createUser(cluster.db, { username: `leaving${Date.now()}` });
    const admin = { id: adminId, username: 'scheduler', email: '' };
    await scheduleOffboarding(
      cluster.db,
      [userId],
      { action: 'deactivate', when: { at: new Date(Date.now() + 1500) }, reason: 'Contract ends' },
      admin,
    );
    const deadline = Date.now() + 20_000;
    while (Boolean((await cluster.db('users').where({ id: userId }).first('is_active'))!.is_active)) {
      expect(Date.now(), 'deactivated within 20 s').to.be.below(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Both processes tick every second: a few more ticks, and still one deactivation.
    await new Promise((r) => setTimeout(r, 3000));
    const events = await cluster.db('events').where({ action: 'model_updated' }).where('context', 'like', '%Contract ends%');
    expect(events).to.have.length(1);
    expect(await cluster.db('scheduled_actions').where({ user_id: userId })).to.deep.equal([]);
  });

  it('a session ended through one process is refused by the other at its next request', async () => {
    const admin = new Client('203.0.113.8');
    const adminName = `admin${Date.now()}`;
    await createUser(cluster.db, { username: adminName, admin: true });
    expect((await admin.logIn(cluster.url, adminName)).status).to.equal(303);

    const username = `ended${Date.now()}`;
    const userId = await createUser(cluster.db, { username });
    const user = new Client('203.0.113.9');
    expect((await user.logIn(cluster.processes.b, username)).status).to.equal(303);
    expect((await user.request(`${cluster.processes.b}/me`)).status).to.equal(200);

    const sessionIds = await cluster.db('sessions').where({ user_id: userId }).pluck('id');
    expect(sessionIds).to.have.length(1);
    const { a, b } = cluster.processes;
    const _csrf = await admin.csrf(`${a}/directory/users/${userId}/sessions`);
    const ended = await admin.request(`${a}/directory/users/${userId}/sessions/delete`, { form: { _csrf, ids: String(sessionIds[0]) } });
    expect(ended.status).to.equal(303);

    const refused = await user.request(`${b}/me`);
    expect(refused.status).to.be.oneOf([302, 303]);
    expect(refused.headers.get('location')).to.match(/^\/login/);
  });
});
