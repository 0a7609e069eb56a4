import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { pino } from 'pino';
import type TestAgent from 'supertest/lib/agent.js';
import { createApp } from '../../app/app.js';
import { migrate, openDb } from '../../app/db.js';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { planLimits } from '../../app/directory/users/list-query.js';
import { insertUser, type NewUser } from '../../app/directory/users/users.js';
import { recordLogin } from '../../app/identity/identity.js';
import { agentFor, createUser, csrfOf, login, type TestApp, testApp, testConfig } from '../support/app.js';
import { TEST_DB } from '../support/db.js';
import { expectSearchRowsCurrent } from '../support/search-terms.js';

/**
 * Issue 16: the users list finds a user by the start of any word of their username (split at
 * . _ - @), name or e-mail, whatever the case and accents typed; several words narrow; the best
 * match comes first unless a sort is chosen. Read through GET /directory/users?q=… as an
 * administrator, by the usernames of the rows listed. The suite runs on SQLite and on MariaDB.
 */

const sorted = (names: string[]) => [...names].sort();

/** Users inserted the way the app inserts them (each indexed for search), in one transaction. */
async function insertAll(db: Knex, users: NewUser[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  await db.transaction(async (trx) => {
    for (const user of users) ids.set(user.username, await insertUser(trx, user));
  });
  return ids;
}

/** The ids of the rows a list page shows, in order: each row's checkbox (field `ids`). */
function rowIds(html: string): number[] {
  return [...html.matchAll(/name="ids" value="(\d+)"/g)].map((m) => Number(m[1]));
}

/** The href of the page's link with this rel, entities decoded. */
function relLink(html: string, rel: 'next' | 'prev'): string | undefined {
  for (const [tag] of html.matchAll(/<a\b[^>]*>/g)) {
    if (!new RegExp(`\\brel="${rel}"`).test(tag)) continue;
    return /\bhref="([^"]+)"/.exec(tag)?.[1].replace(/&amp;/g, '&');
  }
  return undefined;
}

/** An administrator's view of the list on one app: which usernames a URL lists. */
class ListReader {
  constructor(
    readonly agent: TestAgent,
    readonly db: Knex,
  ) {}

  async usernames(ids: number[]): Promise<string[]> {
    const rows: { id: number; username: string }[] = await this.db('users').whereIn('id', ids).select('id', 'username');
    const byId = new Map(rows.map((r) => [Number(r.id), r.username]));
    return ids.map((id) => byId.get(id) ?? `#${id}?`);
  }

  /** The page at this URL: its status, its rows' usernames, and its links to the next/previous page. */
  async page(url: string) {
    const res = await this.agent.get(url);
    return {
      status: res.status,
      text: res.text,
      users: await this.usernames(rowIds(res.text)),
      next: relLink(res.text, 'next'),
      prev: relLink(res.text, 'prev'),
    };
  }

  /** The usernames /directory/users?<query> lists (status 200 expected). */
  async list(query: string): Promise<string[]> {
    const page = await this.page(`/directory/users?${query}`);
    expect(page.status, `status of ?${query}`).to.equal(200);
    return page.users;
  }

  search(q: string, more = ''): Promise<string[]> {
    return this.list(`q=${encodeURIComponent(q)}${more}`);
  }

  /**
   * Every page from the first by its rel="next" links, then back from the last by its rel="prev"
   * links: the pages in the order read each way.
   */
  async walk(query: string): Promise<{ forward: string[][]; backward: string[][] }> {
    const forward: string[][] = [];
    let page = await this.page(`/directory/users?${query}`);
    for (let guard = 0; ; guard++) {
      expect(page.status, `status of a page of ?${query}`).to.equal(200);
      expect(guard, `more pages than the matches fill, for ?${query}`).to.be.below(20);
      forward.push(page.users);
      if (!page.next) break;
      page = await this.page(page.next);
    }
    const backward: string[][] = [page.users];
    for (let guard = 0; page.prev; guard++) {
      expect(guard, `more pages back than forward, for ?${query}`).to.be.below(20);
      page = await this.page(page.prev);
      expect(page.status, `status of a previous page of ?${query}`).to.equal(200);
      backward.push(page.users);
    }
    return { forward, backward };
  }
}

describe('search in the users list (issue 16)', function () {
  this.timeout(120_000);
  let t: TestApp;
  let admin: TestAgent;
  let adminId: number;
  let list: ListReader;

  beforeEach(async () => {
    t = await testApp();
    adminId = await createUser(t.db, { username: 'akadmin', name: 'Admin', admin: true, path: 'admins' });
    admin = agentFor(t.app);
    await login(admin, 'akadmin');
    list = new ListReader(admin, t.db);
  });
  afterEach(() => t.close());

  async function post(url: string, fields: Record<string, string | string[]>) {
    return admin
      .post(url)
      .type('form')
      .send({ _csrf: await csrfOf(admin), ...fields });
  }

  /** People as an administrator would look for them; each word below is theirs alone unless said. */
  const CAST: NewUser[] = [
    { username: 'ana', name: 'Ana Müller', email: 'ana.mueller@corp.example', path: 'users/staff' },
    { username: 'fixture.dana', name: 'Dee Smith', email: 'dsmith@corp.example', path: 'users/staff' },
    { username: 'diana', name: 'Diana Prince', email: 'diana@themyscira.example', path: 'users' },
    { username: 'zs', name: 'Zoë Saldaña', email: 'zs@film.example', path: 'users' },
    { username: 'sean', name: "Seán O'Brien", email: 'seanob@dublin.example', path: 'users' },
    { username: 'jlp', name: 'Jean-Luc Picard', email: 'captain@enterprise.example', path: 'users/fleet' },
    { username: 'jean', name: 'Jean Valjean', email: 'jv@paris.example', path: 'users' },
    { username: 'luc', name: 'Luc Besson', email: 'lb@cinema.example', path: 'users' },
    { username: 'kng', name: 'Kim Ng', email: 'kay.orbit@northwind-traders.example', path: 'users' },
    { username: 'zorro', name: 'Zorro', email: '', path: 'users' },
  ];

  describe('what people type', () => {
    beforeEach(() => insertAll(t.db, CAST));

    const FOUND: [string, string, string[]][] = [
      ['a lower-case word without its accent', 'muller', ['ana']],
      ['the word as written', 'Müller', ['ana']],
      ['the start of a word in capitals', 'MUL', ['ana']],
      ['the start of a word with its accent', 'mül', ['ana']],
      ['an accent typed as its own character', 'mu\u0308l', ['ana']],
      ['a name stored with accents, typed without', 'saldana', ['zs']],
      ['a first name stored with accents, typed without', 'zoe', ['zs']],
      ['the second part of a username', 'dana', ['fixture.dana']],
      ['the start of the first part of a username', 'Fix', ['fixture.dana']],
      ['the first part of a username in capitals', 'FIXTURE', ['fixture.dana']],
      ['a whole username with its dot', 'fixture.dana', ['fixture.dana']],
      ["the e-mail's domain", 'northwind', ['kng']],
      ["the e-mail domain's part after a hyphen", 'traders', ['kng']],
      ["the e-mail's first local part", 'kay', ['kng']],
      ["the e-mail's second local part", 'orbit', ['kng']],
      ['a word with an apostrophe', "o'brien", ['sean']],
      ['a word with a curly apostrophe', 'O’Brien', ['sean']],
      ['a word with its apostrophe left out', 'obrien', ['sean']],
      ['the part of a word after an apostrophe', 'brien', ['sean']],
      ['a hyphenated name', 'jean-luc', ['jlp']],
      ['a word in two users', 'jean', ['jean', 'jlp']],
      ['two words, in order', 'ana mul', ['ana']],
      ['two words, in the other order', 'mul ana', ['ana']],
      ['two words of a hyphenated name, reversed', 'luc jean', ['jlp']],
      ['a word with spaces and a comma around it', '  ana, ', ['ana']],
    ];
    for (const [what, q, usernames] of FOUND) {
      it(`finds by ${what}: "${q}" lists ${usernames.join(', ')}`, async () => {
        expect(sorted(await list.search(q)), `q=${q}`).to.deep.equal(usernames);
      });
    }

    it('the middle of a word is no match: "ana" does not list diana', async () => {
      expect(await list.search('ana')).to.not.include('diana');
    });

    it('the end of a word is no match: "dana" does not list zs (Zoë Saldaña)', async () => {
      expect(await list.search('dana')).to.not.include('zs');
    });

    it('every word must match: "ana smith" (words of two users) lists nobody', async () => {
      expect(await list.search('ana smith')).to.deep.equal([]);
    });

    it('both halves of a hyphenated search must match: "jean-luc" is not "Jean Valjean" nor "Luc Besson"', async () => {
      expect(await list.search('jean-luc')).to.deep.equal(['jlp']);
    });

    it('a miss lists no rows and says that no user matches', async () => {
      const res = await admin.get('/directory/users?q=zzqx');
      expect(res.status).to.equal(200);
      expect(rowIds(res.text), 'rows').to.deep.equal([]);
      expect(res.text).to.match(/No users match/);
    });

    it('the table fragment that htmx asks for lists what the page lists', async () => {
      const res = await admin.get('/directory/users?q=MUL').set('HX-Request', 'true').set('HX-Target', 'div#users-table');
      expect(res.status).to.equal(200);
      expect(res.text, 'a fragment').to.not.contain('<html');
      expect(await list.usernames(rowIds(res.text))).to.deep.equal(['ana']);
    });

    it('the CSV export of a search exports the users the list shows', async () => {
      const csv = (await admin.get('/directory/users/export.csv?q=muller')).text.trim().split('\r\n').slice(1);
      expect(csv.map((line) => line.split(',')[2])).to.deep.equal(['ana']);
    });

    it('the search rows of the cast are the words of each stored user', async () => {
      await expectSearchRowsCurrent(t.db);
    });
  });

  describe('folders and the status filter with a search', () => {
    beforeEach(() =>
      insertAll(t.db, [
        { username: 'ana', name: 'Ana One', path: 'users/staff' },
        { username: 'ana.sub', name: 'Ana Two', path: 'users/staff/eng' },
        { username: 'ana.other', name: 'Ana Three', path: 'users2' },
        { username: 'ana.off', name: 'Ana Four', path: 'users/staff', isActive: false },
        { username: 'bea', name: 'Bea', path: 'users/staff' },
      ]),
    );

    const CASES: [string, string, string[]][] = [
      ['a folder lists its matches and those below it', 'q=ANA&path=users/staff', ['ana', 'ana.sub']],
      [
        'a folder and "show deactivated" list the deactivated match too',
        'q=ana&path=users/staff&active=all',
        ['ana', 'ana.off', 'ana.sub'],
      ],
      ['a subfolder lists its matches only', 'q=ana&path=users/staff/eng', ['ana.sub']],
      ['a folder leaves out a sibling folder sharing its prefix', 'q=ana&path=users', ['ana', 'ana.sub']],
      ['without a folder, only active matches show by default', 'q=ana', ['ana', 'ana.other', 'ana.sub']],
      ['without a folder, "show deactivated" lists every match', 'q=ana&active=all', ['ana', 'ana.off', 'ana.other', 'ana.sub']],
      ['folders stay case-sensitive under a case-insensitive search', 'q=ana&path=Users', []],
    ];
    for (const [what, query, usernames] of CASES) {
      it(`${what} (?${query})`, async () => {
        expect(sorted(await list.list(query))).to.deep.equal(usernames);
      });
    }
  });

  describe('the order of the matches', () => {
    /** Each matches "ann" in its own way; names begin with distinct letters, for the name order. */
    const ORDER_CAST: NewUser[] = [
      { username: 'yan', name: 'Abe Ng', email: 'ann@yan.example' }, // e-mail
      { username: 'bob.ann', name: 'Gus Hale' }, // a later word of the username
      { username: 'annabel', name: 'Fay Lee' }, // username prefix
      { username: 'zed', name: 'Eli Ann' }, // name
      { username: 'ann', name: 'Hal Moss' }, // the username itself
      { username: 'Annika', name: 'Bo Berg' }, // username prefix, in another case
      { username: 'anna.b', name: 'Cy Bell' }, // username prefix
      { username: 'hannah', name: 'Hannah Banner' }, // no word begins with "ann"
    ];
    const MATCHES = ['yan', 'bob.ann', 'annabel', 'zed', 'ann', 'Annika', 'anna.b'];
    beforeEach(() => insertAll(t.db, ORDER_CAST));

    it('the search finds the seven users with a word beginning "ann", and not hannah', async () => {
      expect(sorted(await list.search('ann'))).to.deep.equal(sorted(MATCHES));
    });

    it('best match first: the exact username leads', async () => {
      expect((await list.search('ann'))[0]).to.equal('ann');
    });

    it('best match first: then the usernames that begin with the search, then the rest', async () => {
      const found = await list.search('ann');
      expect(sorted(found.slice(1, 4)), 'username prefixes').to.deep.equal(['Annika', 'anna.b', 'annabel']);
      expect(sorted(found.slice(4)), 'the rest').to.deep.equal(['bob.ann', 'yan', 'zed']);
    });

    it('best match first: the exact username leads whatever its case typed', async () => {
      expect((await list.search('ANN'))[0]).to.equal('ann');
    });

    it('best match first: a search with punctuation puts the username spelled so first, then those it begins', async () => {
      await insertAll(t.db, [
        { username: 'dana.fixture', name: 'Other Way' },
        { username: 'zz', name: 'Fixture Dana' },
        { username: 'fixture.dana2', name: 'Second' },
        { username: 'fixture.dana', name: 'First' },
      ]);
      const found = await list.search('fixture.dana');
      expect(found.slice(0, 2)).to.deep.equal(['fixture.dana', 'fixture.dana2']);
      expect(sorted(found.slice(2))).to.deep.equal(['dana.fixture', 'zz']);
    });

    it('sort=name lists the matches in name order', async () => {
      expect(await list.search('ann', '&sort=name')).to.deep.equal(['yan', 'Annika', 'anna.b', 'zed', 'annabel', 'bob.ann', 'ann']);
    });

    it('sort=-name lists the matches in reverse name order', async () => {
      expect(await list.search('ann', '&sort=-name')).to.deep.equal(['ann', 'bob.ann', 'annabel', 'zed', 'anna.b', 'Annika', 'yan']);
    });

    it('sort=username lists the matches by username (code point order)', async () => {
      expect(await list.search('ann', '&sort=username')).to.deep.equal(['Annika', 'ann', 'anna.b', 'annabel', 'bob.ann', 'yan', 'zed']);
    });

    it('sort=-last_login lists the matches by last login, most recent first, never-logged-in last', async () => {
      const day = (d: number) => new Date(Date.UTC(2026, 0, d));
      for (const [username, when] of [
        ['zed', day(5)],
        ['yan', day(3)],
        ['ann', day(9)],
      ] as const)
        await recordLogin(t.db, (await t.db('users').where({ username }).first('id'))!.id, when);
      const found = await list.search('ann', '&sort=-last_login');
      expect(found.slice(0, 3)).to.deep.equal(['ann', 'zed', 'yan']);
      expect(sorted(found.slice(3))).to.deep.equal(['Annika', 'anna.b', 'annabel', 'bob.ann']);
    });
  });

  describe('keyset paging through many matches', () => {
    /**
     * 131 users match "pg": the username pg itself, 45 usernames beginning "pg.", 45 with the name
     * word Pg, 40 with an e-mail at pg.example; 20 others do not. One in 13 is deactivated; every
     * other one is in users/sub; two in three have logged in, on one of five days (ties).
     */
    interface Member {
      username: string;
      name: string;
      email: string;
      path: string;
      active: boolean;
      lastLogin: Date | null;
      matches: boolean;
    }
    const pad = (n: number) => String(n).padStart(3, '0');
    const MEMBERS: Member[] = [];
    for (let i = 0; i < 151; i++) {
      const n = `N${pad((i * 37) % 151)}`; // names in an order unlike the usernames'
      const [username, name, email] =
        i === 0
          ? ['pg', `${n} Exact`, '']
          : i <= 45
            ? [`pg.${pad(i)}`, `${n} Prefix`, '']
            : i <= 90
              ? [`u${pad(i)}`, `${n} Pg`, `u${i}@name.example`]
              : i <= 130
                ? [`v${pad(i)}`, `${n} Mail`, `x${i}@pg.example`]
                : [`w${pad(i)}`, `${n} Other`, `w${i}@other.example`];
      MEMBERS.push({
        username,
        name,
        email,
        path: i % 2 ? 'users/sub' : 'users',
        active: i % 13 !== 5,
        lastLogin: i % 3 ? new Date(Date.UTC(2026, 0, 1 + (i % 5))) : null,
        matches: i <= 130,
      });
    }

    beforeEach(async () => {
      await insertAll(
        t.db,
        MEMBERS.map((m) => ({ username: m.username, name: m.name, email: m.email, path: m.path, isActive: m.active })),
      );
      for (const m of MEMBERS)
        if (m.lastLogin) await recordLogin(t.db, (await t.db('users').where({ username: m.username }).first('id'))!.id, m.lastLogin);
    });

    const rank = (username: string) => (username === 'pg' ? 0 : username.startsWith('pg.') ? 1 : 2);
    const byName = (a: Member, b: Member) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const login = (m: Member) => m.lastLogin?.getTime() ?? -1;

    interface Walk {
      query: string;
      order: string;
      /** The members this query lists. */
      listed: (m: Member) => boolean;
      /** The whole listing in order, where the order fixes it. */
      expected?: (ms: Member[]) => string[];
      /** A check of the order where ties leave it open. */
      inOrder?: (usernames: string[]) => void;
    }
    const active = (m: Member) => m.matches && m.active;
    const WALKS: Walk[] = [
      {
        query: 'q=pg',
        order: 'best match',
        listed: active,
        inOrder: (us) => expect(us.map(rank), 'exact (0), username prefix (1), rest (2)').to.deep.equal([...us.map(rank)].sort()),
      },
      {
        query: 'q=PG&active=all',
        order: 'best match, deactivated shown',
        listed: (m) => m.matches,
        inOrder: (us) => expect(us.map(rank), 'exact (0), username prefix (1), rest (2)').to.deep.equal([...us.map(rank)].sort()),
      },
      {
        query: 'q=pg&path=users/sub&active=all',
        order: 'best match in a folder',
        listed: (m) => m.matches && m.path === 'users/sub',
        inOrder: (us) => expect(us.map(rank), 'username prefix (1), rest (2)').to.deep.equal([...us.map(rank)].sort()),
      },
      { query: 'q=pg&sort=name', order: 'name', listed: active, expected: (ms) => [...ms].sort(byName).map((m) => m.username) },
      {
        query: 'q=pg&sort=-name&active=all',
        order: 'reverse name, deactivated shown',
        listed: (m) => m.matches,
        expected: (ms) => [...ms].sort((a, b) => byName(b, a)).map((m) => m.username),
      },
      {
        query: 'q=pg&sort=username&path=users',
        order: 'username, in a folder and below',
        listed: active,
        expected: (ms) => ms.map((m) => m.username).sort(),
      },
      {
        query: 'q=pg&sort=-last_login',
        order: 'last login, most recent first',
        listed: active,
        inOrder: (us) => {
          const times = us.map((u) => login(MEMBERS.find((m) => m.username === u)!));
          expect(times, 'last logins never increase').to.deep.equal([...times].sort((a, b) => b - a));
        },
      },
    ];

    const byStatus = (a: Member, b: Member) => Number(a.active) - Number(b.active) || (a.username < b.username ? -1 : 1);
    WALKS.push(
      {
        query: 'q=pg&sort=username&active=all',
        order: 'username, deactivated shown',
        listed: (m) => m.matches,
        expected: (ms) => ms.map((m) => m.username).sort(),
      },
      {
        query: 'q=pg&sort=is_active&active=all',
        order: 'status (deactivated first), then username',
        listed: (m) => m.matches,
        expected: (ms) => [...ms].sort(byStatus).map((m) => m.username),
      },
      {
        query: 'q=pg&sort=-is_active&active=all&path=users',
        order: 'status (active first), then username descending, in a folder',
        listed: (m) => m.matches,
        expected: (ms) => [...ms].sort((a, b) => byStatus(b, a)).map((m) => m.username),
      },
      {
        // The pg. usernames have two words that begin with "p" (pg, prefix): each is listed once.
        query: 'q=p&sort=name&active=all',
        order: 'name, a user with two words of the search',
        listed: (m) => m.matches,
        expected: (ms) => [...ms].sort(byName).map((m) => m.username),
      },
      {
        // The status filter of issue 17 (none of these users is locked or expired): Active is the
        // default list's users, through every plan.
        query: 'q=pg&status=active&sort=-name',
        order: 'reverse name, status=active',
        listed: active,
        expected: (ms) => [...ms].sort((a, b) => byName(b, a)).map((m) => m.username),
      },
      {
        query: 'q=pg+n&sort=-username',
        order: 'reverse username, two words',
        listed: active,
        expected: (ms) =>
          ms
            .map((m) => m.username)
            .sort()
            .reverse(),
      },
    );

    /**
     * Each plan of the list on the same walks: its limits lowered so that 131 matches are read the
     * way a million users' common words are.
     */
    const PLANS: [string, Partial<typeof planLimits>][] = [
      ["the word's users collected and sorted", {}],
      ["each word's users read in order (runs)", { collectMax: 0, rankedMax: 0 }],
      ["the order's index walked", { collectMax: 0, rankedMax: 0, runsMax: 0 }],
    ];
    const defaults = { ...planLimits };
    afterEach(() => Object.assign(planLimits, defaults));

    for (const [plan, limits] of PLANS)
      for (const walk of WALKS) {
        it(`${plan}: next links list every match exactly once, in ${walk.order} order, and prev links give back the same pages (?${walk.query})`, async () => {
          Object.assign(planLimits, limits);
          const { forward, backward } = await list.walk(walk.query);
          const all = forward.flat();
          const members = MEMBERS.filter(walk.listed);
          expect(all.length, 'rows listed').to.equal(members.length);
          expect(
            all.filter((u, i) => all.indexOf(u) !== i),
            'listed twice',
          ).to.deep.equal([]);
          expect(sorted(all), 'the matches').to.deep.equal(sorted(members.map((m) => m.username)));
          for (const page of forward) expect(page.length, 'rows on a page').to.be.within(1, 50);
          if (walk.expected) expect(all).to.deep.equal(walk.expected(members));
          walk.inOrder?.(all);
          expect(forward.length, 'more than one page').to.be.above(1);
          expect([...backward].reverse(), 'the pages read back from the last one').to.deep.equal(forward);
        });
      }
  });

  describe('after edits through the web form', () => {
    let ids: Map<string, number>;
    beforeEach(async () => {
      ids = await insertAll(t.db, CAST);
    });

    /** Posts the edit form of a user with all its stored values, changed as given. */
    async function edit(username: string, changes: Record<string, string>) {
      const row = (await t.db('users').where({ username }).first())!;
      const res = await post(`/directory/users/${row.id}`, {
        username: row.username,
        path: row.path,
        attributes: '{}',
        name: row.name,
        email: row.email,
        is_active: row.is_active ? 'true' : 'false',
        type: row.type,
        ...changes,
      });
      expect(res.status, `edit of ${username}: ${res.text.slice(0, 200)}`).to.equal(303);
    }

    it('a new user created through the form is found at once', async () => {
      const res = await post('/directory/users', {
        username: 'new.comer',
        path: 'users',
        name: 'Nadia Ørsted',
        email: 'nadia@fjord.example',
      });
      expect(res.status).to.equal(303);
      expect(await list.search('orsted'), 'by name').to.deep.equal(['new.comer']);
      expect(await list.search('comer'), 'by username').to.deep.equal(['new.comer']);
      await expectSearchRowsCurrent(t.db);
    });

    it('a renamed user is found by the new username and not the old one', async () => {
      await edit('fixture.dana', { username: 'quill.dana' });
      expect(await list.search('quill'), 'new').to.deep.equal(['quill.dana']);
      expect(await list.search('fixture'), 'old').to.deep.equal([]);
      await expectSearchRowsCurrent(t.db);
    });

    it('a renamed user leads the best-match order under the new username', async () => {
      await edit('luc', { username: 'dana' });
      expect((await list.search('dana'))[0]).to.equal('dana');
      await expectSearchRowsCurrent(t.db);
    });

    it('a user with a new name is found by it and not the old one', async () => {
      await edit('fixture.dana', { name: 'Dee Walker' });
      expect(await list.search('walker'), 'new').to.deep.equal(['fixture.dana']);
      expect(await list.search('smith'), 'old').to.deep.equal([]);
      await expectSearchRowsCurrent(t.db);
    });

    it('a user with a new e-mail is found by it and not the old one', async () => {
      await edit('fixture.dana', { email: 'dee@harbor.example' });
      expect(await list.search('harbor'), 'new').to.deep.equal(['fixture.dana']);
      expect(await list.search('dsmith'), 'old').to.deep.equal([]);
      expect(await list.search('corp'), 'old domain, still ana’s').to.deep.equal(['ana']);
      await expectSearchRowsCurrent(t.db);
    });

    it('a user moved to another folder is found there and not in the old one', async () => {
      await edit('fixture.dana', { path: 'users/fleet' });
      expect(await list.search('dana', '&path=users/fleet'), 'new folder').to.deep.equal(['fixture.dana']);
      expect(await list.search('dana', '&path=users/staff'), 'old folder').to.deep.equal([]);
      await expectSearchRowsCurrent(t.db);
    });

    it('a user deactivated through the edit form is found only with "show deactivated"', async () => {
      await edit('fixture.dana', { is_active: 'false' });
      expect(await list.search('dana'), 'active only').to.deep.equal([]);
      expect(await list.search('dana', '&active=all'), 'show deactivated').to.deep.equal(['fixture.dana']);
      await expectSearchRowsCurrent(t.db);
    });

    it('a user deactivated through the review page is found only with "show deactivated"', async () => {
      expect((await post(`/directory/users/${ids.get('fixture.dana')}/activation`, { is_active: 'false' })).status).to.equal(303);
      expect(await list.search('dana'), 'active only').to.deep.equal([]);
      expect(await list.search('dana', '&active=all&path=users/staff'), 'in the folder, deactivated shown').to.deep.equal(['fixture.dana']);
      await expectSearchRowsCurrent(t.db);
    });

    it('a user activated again is found by the default search again', async () => {
      const id = ids.get('fixture.dana');
      expect((await post(`/directory/users/${id}/activation`, { is_active: 'false' })).status).to.equal(303);
      expect((await post(`/directory/users/${id}/activation`, { is_active: 'true' })).status).to.equal(303);
      expect(await list.search('dana')).to.deep.equal(['fixture.dana']);
      await expectSearchRowsCurrent(t.db);
    });

    it('deleted users leave no search rows and are no longer found', async () => {
      const gone = [ids.get('fixture.dana')!, ids.get('ana')!];
      expect((await post('/directory/users/delete', { ids: gone.map(String) })).status).to.equal(303);
      expect(await t.db('user_terms').whereIn('user_id', gone).count({ n: '*' }).first()).to.deep.include({ n: 0 });
      expect(await list.search('dana'), 'dana').to.deep.equal([]);
      expect(await list.search('corp'), 'their domain').to.deep.equal([]);
      await expectSearchRowsCurrent(t.db);
    });
  });

  describe('/api/v3/core/users/?search=', () => {
    let key: string;
    beforeEach(async () => {
      await insertAll(t.db, CAST);
      const created = await createToken(
        t.db,
        { identifier: 'robot', description: '', ownerId: adminId, expires: null },
        { id: adminId, username: 'akadmin', email: '' },
      );
      if (!created.ok) throw new Error('token');
      key = created.key;
    });
    const api = (query: string) => agentFor(t.app).get(`/api/v3/core/users/?${query}`).set('Authorization', `Bearer ${key}`);
    async function apiSearch(search: string): Promise<string[]> {
      const res = await api(`search=${encodeURIComponent(search)}`);
      expect(res.status, `search=${search}`).to.equal(200);
      expect(res.body.pagination.count, `count of search=${search}`).to.equal(res.body.results.length);
      return sorted(res.body.results.map((u: { username: string }) => u.username));
    }

    const CASES: [string, string[]][] = [
      ['muller', ['ana']],
      ['MUL', ['ana']],
      ['mül', ['ana']],
      ['dana', ['fixture.dana']],
      ['Fix', ['fixture.dana']],
      ['northwind', ['kng']],
      ['orbit', ['kng']],
      ["o'brien", ['sean']],
      ['jean-luc', ['jlp']],
      ['ana mul', ['ana']],
      ['ana', ['ana']],
      ['zzqx', []],
    ];
    for (const [search, usernames] of CASES) {
      it(`search=${search} answers ${usernames.join(', ') || 'nobody'}, as the list does`, async () => {
        expect(await apiSearch(search)).to.deep.equal(usernames);
        expect(sorted(await list.search(search)), 'the list').to.deep.equal(usernames);
      });
    }

    it('search= with is_active=false finds the deactivated matches only', async () => {
      await t.db('users').where({ username: 'jean' }).update({ is_active: false });
      const res = await api('search=jean&is_active=false');
      expect(res.body.results.map((u: { username: string }) => u.username)).to.deep.equal(['jean']);
    });
  });

  describe('hostile search values', () => {
    const NATO =
      'Alpha Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliett Kilo Lima Mike November Oscar Papa Quebec Romeo Sierra Tango';
    const LONG_WORD = `Llan${'fair'.repeat(20)}`; // 84 letters: longer than a stored word
    beforeEach(() =>
      insertAll(t.db, [
        ...CAST,
        { username: 'nato', name: NATO, path: 'users' },
        { username: 'long', name: LONG_WORD, path: 'users' },
        { username: 'proto', name: 'Constructor Prototype', path: 'users' },
        { username: 'al_x', name: '', path: 'users' },
        { username: 'al%x', name: '', path: 'users' },
      ]),
    );

    /** The page answers (no 5xx) and lists either everyone or no one: a search of no words. */
    async function expectNoWords(rawQuery: string) {
      const page = await list.page(`/directory/users?${rawQuery}`);
      expect(page.status, rawQuery).to.equal(200);
      const everyone = await list.list('');
      expect([[], everyone], `${rawQuery} lists ${page.users}`).to.deep.include(page.users);
    }

    it('a search of 210 characters, one word repeated, finds its user', async () => {
      expect(await list.search('muller '.repeat(30))).to.deep.equal(['ana']);
    });

    it('a word of 300 letters finds nobody, without an error', async () => {
      expect(await list.search('a'.repeat(300))).to.deep.equal([]);
    });

    it('a word longer than a stored word, typed whole, finds its user', async () => {
      expect(await list.search(LONG_WORD)).to.deep.equal(['long']);
    });

    it('a search of 20 words, all of one user, finds that user', async () => {
      expect(await list.search(NATO.toUpperCase())).to.deep.equal(['nato']);
    });

    const AROUND: [string, string][] = [
      ['a NUL', '\u0000ana'],
      ['a bell', 'ana\u0007'],
      ['a tab and a line break', '\tana\n'],
      ['a right-to-left override', '\u202Eana'],
      ['a bidi isolate', '\u2066ana\u2069'],
      ['a zero-width space', '\u200Bana'],
      ['a byte order mark', '\uFEFFana'],
      ['a whole emoji', '😀ana'],
    ];
    for (const [what, q] of AROUND) {
      it(`${what} next to a word is a space: it finds the word's user`, async () => {
        expect(await list.search(q)).to.deep.equal(['ana']);
      });
    }

    const BAD_BYTES: [string, string][] = [
      ['half of an emoji (a lone surrogate, as CESU bytes)', 'q=%ED%A0%BDana'],
      ['the first two bytes of an emoji', 'q=ana%F0%9F'],
      ['a stray continuation byte', 'q=%80ana'],
    ];
    for (const [what, query] of BAD_BYTES) {
      it(`${what} next to a word answers 200 and finds the word's user`, async () => {
        expect(await list.list(query)).to.deep.equal(['ana']);
      });
    }

    for (const q of ['...', "'", '-', '%', '_', '\\', '%_\\', '😀', '\u202E', ' ']) {
      it(`a search of no letters or digits (${JSON.stringify(q)}) lists everyone or no one`, async () => {
        await expectNoWords(`q=${encodeURIComponent(q)}`);
      });
    }

    it('% is no wildcard: "z%o" does not find zorro', async () => {
      expect(await list.search('z%o')).to.deep.equal([]);
    });

    it('_ is no wildcard: "z_rro" does not find zorro', async () => {
      expect(await list.search('z_rro')).to.deep.equal([]);
    });

    it('a trailing backslash is punctuation: "zor\\" finds zorro', async () => {
      expect(await list.search('zor\\')).to.deep.equal(['zorro']);
    });

    it('"al%" and "al_" are the word "al": both find al_x, al%x and nato (Alpha)', async () => {
      expect(sorted(await list.search('al%')), 'al%').to.deep.equal(['al%x', 'al_x', 'nato']);
      expect(sorted(await list.search('al_')), 'al_').to.deep.equal(['al%x', 'al_x', 'nato']);
    });

    const PROTO: [string, string[]][] = [
      ['__proto__', ['proto']],
      ['constructor', ['proto']],
      ['prototype', ['proto']],
      ['toString', []],
      ['hasOwnProperty', []],
      ['valueOf', []],
    ];
    for (const [q, usernames] of PROTO) {
      it(`a prototype name, "${q}", is an ordinary word: lists ${usernames.join(', ') || 'nobody'}`, async () => {
        expect(await list.search(q)).to.deep.equal(usernames);
      });
    }

    it('q given twice answers 200, listing everyone or the matches of one of them', async () => {
      const page = await list.page('/directory/users?q=ana&q=mul');
      expect(page.status).to.equal(200);
      expect([['ana'], await list.list('')], `lists ${page.users}`).to.deep.include(page.users);
    });

    it('q as a nested parameter answers 200', async () => {
      for (const query of ['q[]=ana', 'q[__proto__]=ana', 'q[a]=1&q[b]=2', '__proto__[q]=ana']) {
        const page = await list.page(`/directory/users?${query}`);
        expect(page.status, query).to.equal(200);
      }
    });

    it('/api/v3 answers hostile search= values with 200', async () => {
      const created = await createToken(
        t.db,
        { identifier: 'robot', description: '', ownerId: adminId, expires: null },
        { id: adminId, username: 'akadmin', email: '' },
      );
      if (!created.ok) throw new Error('token');
      for (const query of [
        'search=ana&search=mul',
        'search=%25',
        'search=_',
        'search=%5C',
        `search=${'a'.repeat(400)}`,
        'search=%ED%A0%BD',
        'search=__proto__',
      ]) {
        const res = await agentFor(t.app).get(`/api/v3/core/users/?${query}`).set('Authorization', `Bearer ${created.key}`);
        expect(res.status, query).to.equal(200);
      }
    });

    it('the search rows of these users are the words of each stored user', async () => {
      await expectSearchRowsCurrent(t.db);
    });
  });

  describe('the same answers on SQLite and MariaDB', () => {
    /** Values that differ only by case, accents or punctuation. */
    const LOOKALIKES: NewUser[] = [
      { username: 'elodie', name: 'Élodie Durand' },
      { username: 'ELODIE2', name: 'ELODIE' },
      { username: 'e.lodie', name: 'E Lodie' },
      { username: 'elodie-marie', name: 'elodie-marie' },
      { username: 'strasse', name: 'Straße' },
      { username: 'STRASSE.X', name: 'Strasse X' },
      { username: 'sören', name: 'Søren' },
      { username: 'soren', name: 'Soren' },
      { username: 'o.brien', name: "O'Brien" },
      { username: 'obrien2', name: 'O’Brien' },
      { username: 'lukasz', name: 'Łukasz' },
      { username: 'isik', name: 'Işık' },
      { username: 'Isik2', name: 'ISIK' },
    ];
    beforeEach(() => insertAll(t.db, LOOKALIKES));

    const FIXED: [string, string[]][] = [
      ['élodie', ['ELODIE2', 'elodie', 'elodie-marie']],
      ['ELODIE', ['ELODIE2', 'elodie', 'elodie-marie']],
      ['E\u0301lodie', ['ELODIE2', 'elodie', 'elodie-marie']],
      ['lodie', ['e.lodie']],
      ['straße', ['STRASSE.X', 'strasse']],
      ['STRASSE', ['STRASSE.X', 'strasse']],
      ['stras', ['STRASSE.X', 'strasse']],
      ['søren', ['soren', 'sören']],
      ['SOREN', ['soren', 'sören']],
      ['sö', ['soren', 'sören']],
      ["o'brien", ['o.brien', 'obrien2']],
      ['o brien', ['o.brien', 'obrien2']],
      ['łukasz', ['lukasz']],
      ['LUKASZ', ['lukasz']],
      ['ışık', ['Isik2', 'isik']],
      ['ISIK', ['Isik2', 'isik']],
    ];
    for (const [q, usernames] of FIXED) {
      it(`"${q}" lists ${usernames.join(', ')} (the same on both databases)`, async () => {
        expect(sorted(await list.search(q))).to.deep.equal(usernames);
      });
    }

    describe('side by side with SQLite, in one run on MariaDB', () => {
      let twin: TestApp;
      let twinList: ListReader;
      before(function () {
        if (TEST_DB !== 'mysql') this.skip();
      });
      beforeEach(async () => {
        const url = `sqlite:${path.join(os.tmpdir(), `roster-twin-${randomBytes(6).toString('hex')}.sqlite3`)}`;
        const db = openDb(url);
        await migrate(db);
        const app = createApp({
          config: testConfig(url),
          db,
          logger: pino({ level: 'silent' }),
          sessionSecret: 'test-secret-that-is-long-enough-000',
        });
        twin = { app, db, url, config: testConfig(url), close: () => db.destroy() };
        await createUser(twin.db, { username: 'akadmin', name: 'Admin', admin: true, path: 'admins' });
        await insertAll(twin.db, LOOKALIKES);
        const agent = agentFor(twin.app);
        await login(agent, 'akadmin');
        twinList = new ListReader(agent, twin.db);
      });
      afterEach(() => twin?.close());

      const QUERIES = ['élodie', 'e', 'E', 'lod', 'straße', 'ss', 'so', 'ø', "o'", 'o', 'ı', 'i', 'ł'];
      for (const order of ['', '&sort=username', '&sort=-username', '&active=all&sort=-last_login']) {
        it(`searches list the same users in the same order${order ? ` (${order.slice(1)})` : ' (best match)'}`, async () => {
          for (const q of QUERIES) expect(await list.search(q, order), `q=${q}${order}`).to.deep.equal(await twinList.search(q, order));
        });
      }

      it('a search sorted by name lists the same order on both databases', async () => {
        for (const q of ['e', 'élodie', 's', 'o'])
          expect(await list.search(q, '&sort=name'), `q=${q}&sort=name`).to.deep.equal(await twinList.search(q, '&sort=name'));
      });
    });
  });
});
