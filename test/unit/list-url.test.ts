import { expect } from 'chai';
import {
  type Cursor,
  encodeCursor,
  filterQuery,
  type ListFilter,
  parseFilter,
  SORTS,
  type SortKey,
} from '../../app/directory/users/list-url.js';

const DEFAULT: ListFilter = { path: '', q: '', showInactive: false, status: null, sort: 'username', descending: false, page: null };

/** What the browser sends back for a link the page wrote: the query string, parsed as Express does. */
function followed(query: string): Record<string, unknown> {
  return Object.fromEntries(new URLSearchParams(query));
}

/** A `page` token holding any JSON, as someone editing the URL could write it. */
function token(json: string): string {
  return Buffer.from(json).toString('base64url');
}

const USERNAMES = ['ana', 'Åsa', 'zoë', '李小龙', 'émile', '😀smile', 'a"b\\c', '__proto__', 'constructor', 'x'.repeat(150)];

describe('list URL: filter and query string', () => {
  it('reads an empty query as the default list', () => {
    expect(parseFilter({})).to.deep.equal(DEFAULT);
    expect(filterQuery(DEFAULT)).to.equal('');
  });

  it('round-trips every filter through its query string', () => {
    const paths = ['', 'users', 'users/staff', 'dépt/équipe', 'a b/c&d=e+f', '__proto__', 'x/😀'];
    const searches = ['', 'ana', 'a b', 'émile', '😀', '%_!', '&=?#+', 'constructor'];
    const sorts = ['', ...Object.keys(SORTS), ...Object.keys(SORTS).map((s) => `-${s}`)];
    for (const path of paths)
      for (const q of searches)
        for (const sort of sorts)
          for (const active of ['', 'all']) {
            const filter = parseFilter({ path, q, sort, active });
            expect(parseFilter(followed(filterQuery(filter))), JSON.stringify({ path, q, sort, active })).to.deep.equal(filter);
          }
  });

  it('cuts a long search between characters, never inside one, and its links search for the same text', () => {
    for (const q of ['a'.repeat(149) + '😀', '😀'.repeat(80), 'é'.repeat(200)]) {
      const filter = parseFilter({ q });
      expect(filter.q.length, q).to.be.at.most(150);
      expect(filter.q, q).not.to.match(/\p{Cs}/u); // no half of a character
      expect(q.startsWith(filter.q), q).to.equal(true);
      expect(parseFilter(followed(filterQuery(filter))).q, q).to.equal(filter.q);
    }
  });

  it('round-trips a page position through the query string of a link', () => {
    const filter = parseFilter({ q: 'an', sort: '-name' });
    const page: Cursor = { value: 'Ana Lima', username: 'ana', direction: 'before', at: 50 };
    expect(parseFilter(followed(filterQuery(filter, { page: encodeCursor(page) })))).to.deep.equal({ ...filter, page });
  });
});

describe('list URL: page cursor', () => {
  // The values a row gives each order: see sortValue in list-query.ts.
  const values: Record<SortKey, (string | number | null)[]> = {
    username: USERNAMES,
    name: ['', 'Ana Lima', 'Zoë', '李', 'a"b\\c', 'constructor'],
    last_login: [null, 0, Date.UTC(2026, 0, 31, 23, 59, 59, 999), -86_400_000, 8.64e15],
    is_active: [0, 1],
  };

  it('round-trips a position in each sort order, both ways', () => {
    for (const sort of Object.keys(SORTS) as SortKey[]) {
      for (const value of values[sort])
        for (const username of USERNAMES)
          for (const direction of ['after', 'before'] as const) {
            const cursor: Cursor = { value: sort === 'username' ? username : value, username, direction, at: 100 };
            for (const sortParam of [sort, `-${sort}`]) {
              expect(
                parseFilter({ sort: sortParam, page: encodeCursor(cursor) }).page,
                `${sortParam} ${JSON.stringify(cursor)}`,
              ).to.deep.equal(cursor);
            }
          }
    }
  });

  it('round-trips a position in each part of the match order of a search', () => {
    for (const segment of [0, 1])
      for (const username of USERNAMES)
        for (const direction of ['after', 'before'] as const) {
          const value = segment === 0 ? username.toLowerCase() : `${username}.key`;
          const cursor: Cursor = { value, username, direction, segment, at: 0 };
          expect(parseFilter({ q: 'a', page: encodeCursor(cursor) }).page, JSON.stringify(cursor)).to.deep.equal(cursor);
        }
  });

  it('writes a token that needs no escaping in a URL', () => {
    for (const username of USERNAMES) {
      expect(encodeCursor({ value: `${username} ?&=#/+`, username, direction: 'after', segment: 1, at: 50 })).to.match(/^[A-Za-z0-9_-]+$/);
    }
  });
});

describe('list URL: hostile input', () => {
  const valid = encodeCursor({ value: 'Ana', username: 'ana', direction: 'after', at: 50 });

  /** parseFilter must not throw, and must show the first page of what the rest of the query asks. */
  function expectFirstPage(query: Record<string, unknown>, label: string): void {
    let filter: ListFilter | undefined;
    expect(() => {
      filter = parseFilter(query);
    }, label).not.to.throw();
    expect(filter!.page, label).to.equal(null);
  }

  it('reads tokens that are not base64url JSON as the first page', () => {
    const tokens = [
      'garbage',
      '!!!',
      '====',
      '%00',
      'a',
      'ab',
      'abc',
      '\u0000',
      '\u202e',
      ' ',
      'null',
      'undefined',
      '[]',
      '["a","v","u"]',
      Buffer.from([0xff, 0xfe, 0x00, 0x80]).toString('base64url'),
      token('hello'),
      token('["a","v","u"'),
      token('{"a":'),
    ];
    for (const page of tokens) expectFirstPage({ page, sort: 'name' }, JSON.stringify(page));
  });

  it('reads a truncated or extended token as the first page', () => {
    for (let cut = 1; cut < valid.length; cut++) expectFirstPage({ page: valid.slice(0, cut), sort: 'name' }, `cut at ${cut}`);
    expectFirstPage({ page: `${valid}${valid}`, sort: 'name' }, 'doubled');
  });

  it('reads a token with control, bidi, space or other characters inside it as the first page', () => {
    for (const inserted of ['\u0000', '\u0007', '\n', '\t', '\u202e', '\u2066', '\u200b', ' ', '=', '+', '/', '.', '%20', 'é', '😀']) {
      for (const at of [1, 5, valid.length - 1]) {
        const page = valid.slice(0, at) + inserted + valid.slice(at);
        expectFirstPage({ page, sort: 'name' }, `${JSON.stringify(inserted)} at ${at}`);
      }
    }
  });

  it('reads base64 of JSON that is not a cursor as the first page', () => {
    const jsons = [
      'null',
      'true',
      '5',
      '1e400',
      '"abc"',
      '"ab"',
      '{}',
      '[]',
      '{"0":"a","1":"v","2":"u"}',
      '{"__proto__":["a","v","u"]}',
      '{"constructor":{"prototype":{"x":1}}}',
      '["x","v","u",0]',
      '["A","v","u",0]',
      '["after","v","u",0]',
      '["a","v"]',
      '["a"]',
      '["a","v","u",0,"extra"]',
      '["a",["v"],"u",0]',
      '["a",{},"u",0]',
      '["a",true,"u",0]',
      '["a","v",5,0]',
      '["a","v",null,0]',
      '["a","v",["u",0]]',
      '["a","v",{"__proto__":"u"},0]',
      '[["a"],"v","u",0]',
    ];
    for (const json of jsons) expectFirstPage({ page: token(json), sort: 'name' }, json);
  });

  it('reads a cursor whose value cannot come from the sort column as the first page', () => {
    const cases: [string, string][] = [
      ['name', '["a",5,"ana",0]'],
      ['name', '["a",1e308,"ana",0]'],
      ['name', '["a",null,"ana",0]'],
      ['username', '["a",5,"ana",0]'],
      ['last_login', '["a","2026-01-01","ana",0]'],
      ['last_login', '["a",1e308,"ana",0]'],
      ['-last_login', '["b",-1e20,"ana",0]'],
      ['last_login', '["a",1e400,"ana",0]'],
      ['last_login', '["a",1.5,"ana",0]'],
      ['last_login', '["a",8640000000000001,"ana",0]'],
      ['is_active', '["a","zz","ana",0]'],
      ['is_active', '["a",2,"ana",0]'],
      ['is_active', '["a",-1,"ana",0]'],
      ['is_active', '["a",null,"ana",0]'],
      ['name', '["a","Ana","ana",0,1]'],
      ['', '["a","ana","ana",0,0]'],
      ['name', '["a","Ana","ana",-1]'],
      ['name', '["a","Ana","ana",1.5]'],
      ['name', '["a","Ana","ana","50"]'],
      ['name', '["a","Ana","ana",1e10]'],
    ];
    for (const [sort, json] of cases) expectFirstPage({ sort, page: token(json) }, `${sort} ${json}`);
  });

  it('reads a match-order cursor without a valid part as the first page', () => {
    for (const json of [
      '["a","Ana","ana",0]',
      '["a","Ana","ana",0,-1]',
      '["a","Ana","ana",0,2]',
      '["a","Ana","ana",0,1.5]',
      '["a","Ana","ana",0,"1"]',
      '["a","Ana","ana",0,1e400]',
      '["a","Ana","ana",0,null]',
      '["a",5,"ana",0,1]',
      '["a",null,"ana",0,1]',
    ]) {
      expectFirstPage({ q: 'an', page: token(json) }, json);
    }
  });

  it('reads an oversized token as the first page', () => {
    expectFirstPage({ page: 'A'.repeat(1_000_000) }, 'a megabyte of A');
    expectFirstPage({ page: token(JSON.stringify(['a', 'x'.repeat(100_000), 'ana'])), sort: 'name' }, 'a huge value');
    expectFirstPage({ page: token(JSON.stringify(['a', 'Ana', 'x'.repeat(100_000)])), sort: 'name' }, 'a huge username');
    expectFirstPage({ page: token(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) }, 'deep nesting');
  });

  it('reads prototype names as ordinary text, and never as a sort', () => {
    for (const sort of ['__proto__', 'constructor', '-constructor', 'toString', '-hasOwnProperty', 'valueOf', 'prototype']) {
      expect(parseFilter({ sort }), sort).to.deep.equal(DEFAULT);
      expect(parseFilter({ sort, q: 'x' }), sort).to.deep.equal({ ...DEFAULT, q: 'x', sort: 'match' });
    }
    expect(parseFilter({ path: '__proto__', q: 'constructor' })).to.deep.include({ path: '__proto__', q: 'constructor', sort: 'match' });
    const cursor: Cursor = { value: 'constructor', username: '__proto__', direction: 'after', at: 0 };
    expect(parseFilter({ sort: 'name', page: encodeCursor(cursor) }).page).to.deep.equal(cursor);
  });

  it('ignores prototype names as keys of the query', () => {
    const queries = [
      JSON.parse('{"__proto__": {"sort": "name", "q": "x", "page": "x"}}'),
      JSON.parse('{"constructor": {"prototype": {"sort": "name"}}, "prototype": {"q": "x"}}'),
      Object.assign(Object.create(null), { __proto__: 'x', toString: 'name', hasOwnProperty: 'all' }),
    ];
    for (const query of queries) expect(parseFilter(query)).to.deep.equal(DEFAULT);
  });

  it('reads arrays, objects and numbers where text is expected as absent', () => {
    expect(parseFilter({ path: ['a', 'b'], q: ['a'], active: ['all'], sort: ['name'], page: [valid] })).to.deep.equal(DEFAULT);
    expect(parseFilter({ path: { a: 1 }, q: { toString: 'x' }, active: true, sort: 5, page: { 0: valid } })).to.deep.equal(DEFAULT);
    expect(parseFilter({ path: Number.POSITIVE_INFINITY, q: 2 ** 70, sort: NaN, page: Infinity })).to.deep.equal(DEFAULT);
    expect(parseFilter({ q: '1e400', page: '1e400' })).to.deep.equal({ ...DEFAULT, q: '1e400', sort: 'match' });
  });

  it('takes control and bidi characters in the search and folder as text, and round-trips them', () => {
    for (const text of ['\u0000a', 'a\u0007b', '\u202eana', 'a\u2066b\u2069', 'a\u200bb', 'a\r\nb', '\ufeffana', 'a\u{10FFFF}']) {
      const filter = parseFilter({ q: text, path: `users/${text}` });
      expect(filter.q, JSON.stringify(text)).to.equal(text.trim());
      expect(parseFilter(followed(filterQuery(filter))), JSON.stringify(text)).to.deep.equal(filter);
    }
  });

  it('falls back to the default order for sort values that are not sorts', () => {
    for (const sort of ['password', '--name', '-', '+name', 'NAME', 'name,username', 'name desc', '1e400', '-1']) {
      expect(parseFilter({ sort }), sort).to.deep.include({ sort: 'username', descending: false });
    }
  });
});

describe('list URL: the status filter (issue 17)', () => {
  it('reads each status, keeps it in the query string and round-trips it', () => {
    for (const status of ['active', 'deactivated', 'locked', 'expired'] as const) {
      const filter = parseFilter({ status, q: 'ana', sort: '-name' });
      expect(filter.status).to.equal(status);
      expect(filterQuery(filter)).to.equal(`?q=ana&status=${status}&sort=-name`);
      expect(parseFilter(followed(filterQuery(filter).slice(1)))).to.deep.equal(filter);
    }
  });

  it('reads anything else as no status filter', () => {
    for (const status of [
      '',
      'ACTIVE',
      'all',
      '__proto__',
      'constructor',
      'toString',
      'locked\u0000',
      'x'.repeat(10_000),
      ['locked'],
      { a: 1 },
      7,
    ])
      expect(parseFilter({ status }).status, JSON.stringify(status)).to.equal(null);
  });
});
