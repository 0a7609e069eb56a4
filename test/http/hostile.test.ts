import { expect } from 'chai';
import express from 'express';
import { hashPassword } from '../../app/auth/passwords.js';
import { addMember, ensureGroup } from '../../app/directory/groups/groups.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { startTotp } from '../../app/mfa/authenticators.js';
import { createApplication } from '../../app/oauth/applications.js';
import { createRecoveryToken } from '../../app/recovery/tokens.js';
import { createUser, csrfFrom, PASSWORD, serve, TEST_ROUNDS, type TestApp, testApp } from '../support/app.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import {
  Client,
  encodePairs,
  type Form,
  formsOf,
  HOSTILE,
  hostileJson,
  hostilePairs,
  hostileSegment,
  linksOf,
  MALFORMED_BODIES,
  type Route,
  routePattern,
  routesOf,
} from '../support/walker.js';

/**
 * Query parameter names that any handler might read. Names found in the app's own links and forms
 * for a route are walked one at a time; these, when no page shows them for the route, together.
 */
const COMMON_QUERY = [
  'q',
  'sort',
  'page',
  'path',
  'after',
  'before',
  'ids',
  'next',
  'from',
  'to',
  'user',
  'ordering',
  'search',
  'page_size',
  'active',
  'action',
  'include_users',
  'username',
  'name',
  'email',
  'uuid',
  'is_active',
  'path_startswith',
  'type',
];
/** Body field names that forms do not show (programs send them), given together to every write. */
const COMMON_BODY = [
  'ids',
  'password',
  'password_repeat',
  'name',
  'username',
  'attributes',
  'path',
  'code',
  'next',
  'from',
  'response',
  'is_active',
];

const isApi = (route: Route) => route.path.startsWith('/api/') || route.path.startsWith('/scim/');
/** Routes that take a body (a DELETE carries its request in the path). */
const writes = (route: Route) => ['post', 'put', 'patch'].includes(route.method);

/**
 * The hostile-value walker (issue 14). It needs no list of routes or fields to keep up to date:
 * - the routes are read from Express's router stack (a route added later is walked);
 * - the query names and form fields of a route are read from the app's own pages: every GET route
 *   is rendered once with real ids, and its forms and links say which names go where; forms that
 *   ask first (tick rows, then review) are submitted once to reach the form that posts;
 * - the API's write fields are the fields its reads show;
 * - names that no page shows (programs send them) go to every route together, one request a value.
 * Each value of the dictionary goes to one parameter at a time, the others as the page sends them,
 * every other request as htmx would send it; every write also gets each malformed body. No answer
 * may be a 5xx, and after each route the app must still answer its readiness check.
 */
describe('the hostile-value walker: every route, every parameter', function () {
  this.timeout(1_800_000);
  let t: TestApp;
  let server: Awaited<ReturnType<typeof serve>>;
  let smtp: TestSmtp;
  let admin: Client;
  let api: Client;
  let scim: Client;
  let csrf = '';
  let adminId: number;
  const real = new Map<string, string[]>();

  async function signIn(): Promise<void> {
    // The walker signs in with its password alone: a second factor that a walked route confirmed
    // (recovery codes are confirmed as they are made) would send it to /login/mfa.
    await t.db('authenticators').where({ user_id: adminId, confirmed: true }).delete();
    admin = new Client(server.baseUrl, { Accept: 'text/html' });
    const form = await admin.send('get', '/login');
    const res = await admin.send('post', '/login', {
      type: 'application/x-www-form-urlencoded',
      body: encodePairs([
        ['_csrf', csrfFrom(form.text)],
        ['username', 'walker'],
        ['password', PASSWORD],
      ]),
    });
    expect(res.status, 'the walker signs in').to.equal(303);
    csrf = csrfFrom((await admin.send('get', '/me')).text);
  }

  /**
   * Real rows for the path parameters, so that handlers get past their 404 into their validation;
   * made again when a walked request deleted or ended them (the victim user, its session…).
   */
  async function ensureFixtures(): Promise<void> {
    const actor = { id: adminId, username: 'walker', email: '' };
    let victim = await t.db('users').where({ username: 'victim' }).first('id');
    if (!victim) {
      await t.db('users').where({ username: 'victim' }).delete();
      victim = {
        id: await createUser(t.db, {
          username: 'victim',
          name: 'Vic Tim',
          email: 'victim@example.com',
          path: 'walk/ed',
          attributes: { team: { name: 'x' } },
        }),
      };
    }
    const groupId = await ensureGroup(t.db, 'walkers', false);
    await addMember(t.db, groupId, victim.id);
    const group = (await t.db('groups').where({ id: groupId }).first('uuid'))!;
    let app = await t.db('applications').where({ slug: 'walked' }).first('id');
    if (!app) {
      const made = await createApplication(
        t.db,
        { name: 'Walked', slug: 'walked', redirectUris: ['http://127.0.0.1:9/cb'], consentMode: 'explicit' },
        actor,
      );
      if (!made.ok) throw new Error('application');
      app = { id: made.application.id };
    }
    let session = await t.db('sessions').where({ user_id: victim.id }).first('id');
    if (!session) {
      // Walked requests may have deactivated the victim or set its password.
      await t
        .db('users')
        .where({ id: victim.id })
        .update({ is_active: true, password: await hashPassword(PASSWORD, TEST_ROUNDS) });
      const other = new Client(server.baseUrl);
      const form = await other.send('get', '/login');
      await other.send('post', '/login', {
        type: 'application/x-www-form-urlencoded',
        body: encodePairs([
          ['_csrf', csrfFrom(form.text)],
          ['username', 'victim'],
          ['password', PASSWORD],
        ]),
      });
      session = await t.db('sessions').where({ user_id: victim.id }).first('id');
      if (!session) throw new Error('the victim could not sign in');
    }
    const pending = await t.db('authenticators').where({ user_id: adminId, confirmed: false }).first('id');
    const authenticatorId = pending?.id ?? (await startTotp(t.db, adminId, 'walker')).id;
    let tokenRow = await t.db('api_tokens').where({ user_id: adminId }).whereNull('revoked').first('id');
    if (!tokenRow || !api) {
      const minted = await createToken(
        t.db,
        { identifier: `walker-${Date.now()}-${Math.random()}`, description: '', ownerId: adminId, expires: null },
        actor,
      );
      if (!minted.ok) throw new Error('token');
      api = new Client(server.baseUrl, { Accept: 'application/json', Authorization: `Bearer ${minted.key}` });
      tokenRow = { id: minted.token.id };
      const provisioning = await createToken(
        t.db,
        { identifier: `walker-scim-${Date.now()}-${Math.random()}`, description: '', ownerId: adminId, expires: null, purpose: 'scim' },
        actor,
      );
      if (!provisioning.ok) throw new Error('token');
      scim = new Client(server.baseUrl, { Accept: 'application/scim+json', Authorization: `Bearer ${provisioning.key}` });
    }
    if ((await admin.send('get', '/me')).status !== 200) await signIn();
    const recovery = await createRecoveryToken(t.db, victim.id, 3_600_000);
    real
      .set('userId', [String(victim.id)])
      .set('groupId', [String(groupId)])
      .set('groupUuid', [group.uuid])
      .set('appId', [String(app.id)])
      // Authenticators and sessions under /directory; users and groups under /scim/v2.
      .set('id', [String(authenticatorId), String(session.id), String(victim.id), String(groupId)])
      .set('name', ['User'])
      .set('token', [recovery.token])
      .set('uid', ['no-such-interaction'])
      .set('rest', ['htmx.min.js']);
  }

  const clientOf = (route: Route) => (route.path.startsWith('/scim/') ? scim : isApi(route) ? api : admin);

  before(async () => {
    // Each request comes from its own address behind a trusted proxy, so that login limits per
    // address do not lock the walker itself out. Mail is set up, so that sending a recovery link
    // is walked rather than refused as unavailable (503).
    smtp = await startSmtp();
    t = await testApp({ TRUST_PROXY: 'loopback', SMTP_URL: smtp.url });
    server = await serve(t.app);
    adminId = await createUser(t.db, { username: 'walker', admin: true });
    await signIn();
    await ensureFixtures();
  });
  after(async () => {
    await server.close();
    await t.close();
    await smtp.close();
  });

  it('reads the routes from the router itself: nested, mounted, and added later', () => {
    const app = express();
    const inner = express.Router();
    inner.get('/deep/:itemId', (_req, res) => void res.end());
    const outer = express.Router();
    outer.use('/mounted', inner);
    app.use(outer);
    app.use('/files', express.static('.'));
    app.post('/later', (_req, res) => void res.end());
    expect(routesOf(app).map((r) => `${r.method} ${r.path} ${r.params.join(',')}`)).to.deep.equal([
      'get /mounted/deep/:itemId itemId',
      'get /files/:rest rest',
      'post /later ',
    ]);
  });

  it('never answers with a 5xx nor stops answering, on any route', async () => {
    const routes = routesOf(t.app);
    // The walk reads the router: these are there only if it found the app's routes at every depth.
    for (const expected of [
      'post /directory/users',
      'get /directory/users/:userId/events',
      'patch /api/v3/core/users/:userId/',
      'patch /scim/v2/Users/:id',
      'get /oauth/:rest',
    ]) {
      expect(routes.map((r) => `${r.method} ${r.path}`)).to.include(expected);
    }
    for (const route of routes) {
      for (const param of route.params)
        expect(real.has(param), `a real value for :${param} (${route.method} ${route.path}): add it to ensureFixtures`).to.equal(true);
    }
    const matching = (path: string, method: string) => routes.filter((r) => r.method === method && routePattern(r.path).test(path));
    const fill = (route: Route, values: Record<string, string> = {}) =>
      route.path.replace(/[:*](\w+)/g, (_m, name: string) => values[name] ?? encodeURIComponent(real.get(name)![0]));

    // What the app's own pages say about each route: the query names its links and forms use, the
    // fields of the form that posts to it, and the region an htmx request for it swaps.
    const queryNames = new Map<Route, Set<string>>();
    const forms = new Map<Route, Form>();
    const targets = new Map<Route, string>();
    const learn = (html: string, pageUrl: string, followUps: string[]) => {
      for (const form of formsOf(html, pageUrl)) {
        for (const route of matching(form.action, form.method === 'get' ? 'get' : 'post')) {
          if (form.target) targets.set(route, form.target);
          if (form.method === 'get') {
            for (const name of form.fields.keys()) (queryNames.get(route) ?? queryNames.set(route, new Set()).get(route)!).add(name);
            followUps.push(`${form.action}?${encodePairs([...form.fields])}`);
          } else if (!forms.has(route)) {
            forms.set(route, form);
          }
        }
      }
      for (const { url, target } of linksOf(html)) {
        for (const route of matching(url.pathname, 'get')) {
          for (const name of url.searchParams.keys()) (queryNames.get(route) ?? queryNames.set(route, new Set()).get(route)!).add(name);
          if (target && !targets.has(route)) targets.set(route, target);
        }
      }
    };
    const followUps: string[] = [];
    for (const route of routes.filter((r) => r.method === 'get' && !isApi(r))) {
      const url = fill(route);
      learn((await admin.send('get', url)).text, url, followUps);
    }
    // A form that asks first (bulk actions: tick rows, then review) shows its posting form after.
    for (const url of followUps) learn((await admin.send('get', url)).text, url, []);

    // The API's write fields are the fields its reads show.
    const apiFields = new Map<string, Map<string, string>>();
    for (const route of routes.filter((r) => r.method === 'get' && isApi(r))) {
      const body = JSON.parse((await clientOf(route).send('get', fill(route))).text || 'null') as Record<string, unknown> | null;
      const item = ((body?.results ?? body?.Resources) as Record<string, unknown>[] | undefined)?.[0] ?? body;
      // Lists in a read (groups_obj) are what the API shows, not what it takes.
      if (item && typeof item === 'object')
        apiFields.set(
          route.path,
          new Map(
            Object.entries(item)
              .filter(([k, v]) => !Array.isArray(v) || k === 'schemas')
              .map(([k, v]) => [k, JSON.stringify(v)]),
          ),
        );
    }

    const failures: string[] = [];
    let sent = 0;
    let address = 0;
    // Reads a few at a time (the walk waits on the database more than on the processor); writes one
    // at a time, as hostile values are what is walked here, not races between writes.
    const inFlight = new Set<Promise<void>>();
    async function hit(
      route: Route,
      what: string,
      method: string,
      url: string,
      options: { body?: string | Buffer; type?: string; htmx?: boolean } = {},
    ): Promise<void> {
      while (inFlight.size >= (route.method === 'get' ? 6 : 1)) await Promise.race(inFlight);
      const client = clientOf(route);
      const headers: Record<string, string> = {
        'X-Forwarded-For': `198.18.${(address >> 8) & 255}.${address++ & 255}`,
        'X-CSRF-Token': csrf,
      };
      if (options.htmx)
        Object.assign(headers, { 'HX-Request': 'true', 'HX-Target': `div#${(targets.get(route) ?? '#modal').replace(/^#/, '')}` });
      sent += 1;
      const fail = (why: string) => {
        failures.push(`${route.method.toUpperCase()} ${route.path} ${what}: ${why}`);
        if (process.env.WALKER_DEBUG) console.log(failures[failures.length - 1]);
      };
      // A kept-alive connection that the server closed as it was reused fails once: sent again, it answers.
      const request = client
        .send(method, url, { ...options, headers })
        .catch((err: NodeJS.ErrnoException) =>
          err.code === 'ECONNRESET' || err.code === 'EPIPE' ? client.send(method, url, { ...options, headers }) : Promise.reject(err),
        )
        .then((res) => {
          if (res.status >= 500) fail(`${res.status} ${res.text.slice(0, 120).replace(/\s+/g, ' ')}`);
        })
        .catch((err: Error) => fail(`no answer (${err.message})`))
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }

    for (const route of routes) {
      const started = Date.now();
      const before = sent;
      await ensureFixtures();
      const method = route.method;
      const form = forms.get(route);
      const baseline: [string, string][] = form ? [...form.values].filter(([k]) => k !== '_csrf') : [];
      const fields = new Set([...(form?.fields.keys() ?? [])].filter((k) => k !== '_csrf'));
      const jsonBaseline = apiFields.get(route.path) ?? new Map<string, string>();
      if (isApi(route)) for (const k of jsonBaseline.keys()) fields.add(k);
      const formBody = (extra: string) => [encodePairs([...baseline, ['_csrf', csrf]]), extra].filter(Boolean).join('&');
      const jsonBody = (name: string | null, json: string) =>
        `{${[...[...jsonBaseline].filter(([k]) => k !== name).map(([k, v]) => `${JSON.stringify(k)}:${v}`), ...(name ? [`${JSON.stringify(name)}:${json}`] : [])].join(',')}}`;
      const send = (what: string, url: string, extra: { form?: string; json?: string | null; name?: string | null }, htmx: boolean) => {
        if (!writes(route)) return hit(route, what, method, url, { htmx });
        if (isApi(route)) {
          if (extra.json === null) return null;
          return hit(route, what, method, url, { type: 'application/json', body: jsonBody(extra.name ?? null, extra.json ?? 'null') });
        }
        return hit(route, what, method, url, { type: 'application/x-www-form-urlencoded', body: formBody(extra.form ?? ''), htmx });
      };

      // The real rows first (each combination of the candidates), then each path parameter hostile.
      for (const candidate of real.get(route.params[0] ?? '') ?? ['']) {
        await send(
          'with real values',
          fill(route, route.params[0] ? { [route.params[0]]: encodeURIComponent(candidate) } : {}),
          { json: undefined },
          false,
        );
      }
      const base = fill(route);
      for (const param of route.params) {
        for (const [i, value] of HOSTILE.entries()) {
          const segment = hostileSegment(value);
          if (segment !== null) await send(`:${param}=${value.label}`, fill(route, { [param]: segment }), {}, i % 2 === 1);
        }
      }
      // Query parameters: those the app's pages use for this route one at a time, the rest together.
      const named = queryNames.get(route) ?? new Set<string>();
      const together = COMMON_QUERY.filter((n) => !named.has(n));
      for (const [i, value] of HOSTILE.entries()) {
        if (value.bodyOnly) continue;
        for (const name of named) await send(`?${name}=${value.label}`, `${base}?${hostilePairs(name, value)}`, {}, i % 2 === 1);
        await send(
          `?(${together.length} names)=${value.label}`,
          `${base}?${together.map((n) => hostilePairs(n, value)).join('&')}`,
          {},
          i % 2 === 1,
        );
      }
      if (writes(route)) {
        // Each field hostile with the others as the form sends them; then the unshown ones together.
        const unshown = COMMON_BODY.filter((n) => !fields.has(n));
        for (const [i, value] of HOSTILE.entries()) {
          for (const name of fields)
            await send(`${name}=${value.label}`, base, { form: hostilePairs(name, value), json: hostileJson(value), name }, i % 2 === 1);
          // Large values go to one field at a time: a dozen of them make a body that only tests the size limit.
          if (value.bodyOnly) continue;
          if (isApi(route)) {
            const json = hostileJson(value);
            if (json !== null)
              await hit(route, `{${unshown.length} fields}=${value.label}`, method, base, {
                type: 'application/json',
                body: `{${unshown.map((n) => `${JSON.stringify(n)}:${json}`).join(',')}}`,
              });
          } else {
            await send(
              `(${unshown.length} fields)=${value.label}`,
              base,
              { form: unshown.map((n) => hostilePairs(n, value)).join('&') },
              i % 2 === 1,
            );
          }
        }
        for (const [i, malformed] of MALFORMED_BODIES.entries()) {
          await hit(route, `body: ${malformed.label}`, method, base, { type: malformed.type, body: malformed.body, htmx: i % 2 === 1 });
        }
      }
      await Promise.all(inFlight);
      if (process.env.WALKER_DEBUG) console.log(`${route.method} ${route.path}: ${sent - before} requests, ${Date.now() - started} ms`);
      const health = await fetch(`${server.baseUrl}/-/health/ready/`).catch(() => null);
      if (health?.status !== 200)
        failures.push(
          `after ${route.method.toUpperCase()} ${route.path}: the app no longer answers /-/health/ready/ (${health?.status ?? 'no answer'})`,
        );
    }
    expect(sent).to.be.greaterThan(routes.length * HOSTILE.length);
    expect(failures, `${failures.length} of ${sent} requests failed`).to.deep.equal([]);
  });
});
