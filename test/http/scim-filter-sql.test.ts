/**
 * SCIM filters run as SQL on the real database, checked against scimmy's filter matching as an
 * independent oracle on the same rows. Roster's rules differ from scimmy's in places, and the oracle
 * is given its input so that it answers by Roster's rules, each adaptation stated where it is made:
 * - scimmy compares every string exactly: for caseExact=false attributes it sees the values, and
 *   the filter's value, lowered with toLowerCase() (what Roster's rule is);
 * - scimmy counts "" as present: for pr it sees "" as absent (Roster: present = not null, not "");
 * - scimmy's co/sw/ew test String(undefined) = "undefined" when the attribute is absent: its own
 *   pr guards those (`[['pr'], ['co', v]]`), as absent values match nothing in Roster;
 * - scimmy parses filter strings badly (nested groups stop at the first ")"; "not (a or b)" is
 *   rewritten by string replacement): it is given each comparison as an expression object, and
 *   and/or/not/[] are composed here in JavaScript;
 * - scimmy orders strings by UTF-16 code unit, Roster by code point: the values hold no characters
 *   from U+E000 to U+FFFF, where the two orders differ;
 * - MariaDB's lower() and toLowerCase() differ on a few characters (ẞ, İ, final Σ): none are used.
 * Set SCIM_FILTER_SEED to replay a run; failures print the seed and the filter.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import SCIMMY from 'scimmy';
import { filterSql, type Multi, parseFilter, type Resolver, type Scalar } from '../../app/scim/filter.js';
import { caseInsensitiveString, createTable, timestamp } from '../../db/migrations/helpers.js';
import { freshDb, TEST_DB } from '../support/db.js';
import { prng } from '../support/prng.js';

const TABLE = 'scim_filter_probe';
const TAGS = 'scim_filter_probe_tags';
const ROWS = 60;
const FILTERS = 400;

interface Tag {
  value: string | null;
  type: string | null;
}

interface Row {
  id: number;
  userName: string | null;
  display: string | null;
  email: string | null;
  active: boolean | null;
  created: Date | null;
  given: string | null;
  logins: number | null;
  tags: Tag[];
}

type Op = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
type Leaf = { op: Op; attrPath: string; compValue: string | number | boolean } | { op: 'pr'; attrPath: string };
type Node = Leaf | { op: 'and' | 'or'; filters: Node[] } | { op: 'not'; filter: Node } | { op: '[]'; attrPath: string; valFilter: Node };

const SEED = process.env.SCIM_FILTER_SEED ? Number(process.env.SCIM_FILTER_SEED) : Math.floor(Math.random() * 2 ** 31);
const random = prng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)];
const chance = (p: number) => random() < p;

// Case pairs, accents, ß/SS, emoji, padding-sensitive characters (space, tab), LIKE wildcards, quotes.
const PIECES = ['a', 'A', 'b', 'B', 'e', 'E', 'é', 'É', 'u', 'ü', 'Ü', 'ß', 'ss', 'SS', 'ä', 'Ä', 'ø', 'Ø', '😀', '🎉'];
const PUNCTUATION = [' ', '\t', '-', '.', '_', '%', '"', '\\', "'", '!', '~', '1', '0'];
const FAMILIES = [
  'Anna',
  'anna',
  'ANNA',
  'Änne',
  'änne',
  'Ånne',
  'Jürgen',
  'JÜRGEN',
  'Jurgen',
  'Straße',
  'STRASSE',
  'strasse',
  'Øyvind',
  'øyvind',
];

function randomString(): string {
  if (chance(0.08)) return '';
  if (chance(0.35)) return pick(FAMILIES) + (chance(0.3) ? pick(PUNCTUATION) : '');
  let s = '';
  for (let n = 1 + int(6); n > 0; n--) s += chance(0.75) ? pick(PIECES) : pick(PUNCTUATION);
  return s;
}

const maybe = <T>(make: () => T, nulls = 0.15): T | null => (chance(nulls) ? null : make());
const randomDate = () => new Date(Date.UTC(2020, 0, 1) + int(6 * 365 * 86_400_000));

function makeRows(): Row[] {
  const dates = Array.from({ length: 8 }, randomDate);
  return Array.from({ length: ROWS }, (_, i) => ({
    id: i + 1,
    userName: maybe(randomString, 0.05),
    display: maybe(randomString),
    email: maybe(() => (chance(0.8) ? `${randomString()}@${pick(['x.org', 'X.ORG', 'ü.de'])}` : randomString())),
    active: maybe(() => chance(0.5)),
    created: maybe(() => (chance(0.4) ? pick(dates) : randomDate())),
    given: maybe(randomString, 0.3),
    logins: maybe(() => int(20)),
    tags: Array.from({ length: int(4) }, () => ({
      value: maybe(randomString, 0.1),
      type: maybe(() => pick(['work', 'Work', 'home', 'HOME', '']), 0.2),
    })),
  }));
}

const table = (sql: string, caseExact: boolean, binary = false): Scalar => ({ kind: 'scalar', sql, type: 'string', caseExact, binary });

const SCALARS: Record<string, Scalar> = {
  username: table(`${TABLE}.user_name`, true, true),
  displayname: table(`${TABLE}.display`, false),
  // caseExact on a column declared collate nocase (SQLite) / utf8mb4_unicode_ci (MariaDB).
  externalid: table(`${TABLE}.display`, true),
  'name.givenname': table(`${TABLE}.given`, false),
  active: { kind: 'scalar', sql: `${TABLE}.active`, type: 'boolean', caseExact: true },
  'meta.created': { kind: 'scalar', sql: `${TABLE}.created`, type: 'dateTime', caseExact: true },
  logins: { kind: 'scalar', sql: `${TABLE}.logins`, type: 'integer', caseExact: true },
};

const EMAILS: Multi = {
  kind: 'multi',
  // Stored as one value: the one e-mail, when there is one.
  exists: (condition) => `(${TABLE}.email is not null and (${condition}))`,
  sub: (name) => (name.toLowerCase() === 'value' ? table(`${TABLE}.email`, false) : undefined),
};

const TAG_SUBS: Record<string, Scalar> = { value: table('t.value', false), type: table('t.type', true) };
const TAG_MULTI: Multi = {
  kind: 'multi',
  exists: (condition) => `exists (select 1 from ${TAGS} t where t.row_id = ${TABLE}.id and (${condition}))`,
  sub: (name) => TAG_SUBS[name.toLowerCase()],
};

const resolve: Resolver = (path) => {
  const key = path.toLowerCase();
  if (key === 'emails') return EMAILS;
  if (key === 'tags') return TAG_MULTI;
  return SCALARS[key];
};

/** Where each filtered path is in the SCIM-shaped object, and whether it compares without case. */
const PATHS: Record<string, { at: string[]; caseExact: boolean }> = {
  userName: { at: ['userName'], caseExact: true },
  displayName: { at: ['displayName'], caseExact: false },
  externalId: { at: ['externalId'], caseExact: true },
  'name.givenName': { at: ['name', 'givenName'], caseExact: false },
  active: { at: ['active'], caseExact: true },
  'meta.created': { at: ['meta', 'created'], caseExact: true },
  logins: { at: ['logins'], caseExact: true },
  emails: { at: ['emails', 'value'], caseExact: false },
  'emails.value': { at: ['emails', 'value'], caseExact: false },
  tags: { at: ['tags', 'value'], caseExact: false },
  'tags.value': { at: ['tags', 'value'], caseExact: false },
  'tags.type': { at: ['tags', 'type'], caseExact: true },
  value: { at: ['value'], caseExact: false },
  type: { at: ['type'], caseExact: true },
};

type Obj = Record<string, unknown>;
const prune = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** What the oracle sees of a row: strings compared without case lowered; for pr, "" left out. */
function scimObject(row: Row, forPresence: boolean): Obj {
  const s = (v: string | null, caseExact: boolean) =>
    v === null || (forPresence && v === '') ? undefined : caseExact ? v : v.toLowerCase();
  return prune({
    id: String(row.id),
    userName: s(row.userName, true),
    displayName: s(row.display, false),
    externalId: s(row.display, true),
    name: prune({ givenName: s(row.given, false) }),
    emails: row.email === null ? [] : [prune({ value: s(row.email, false) })],
    active: row.active ?? undefined,
    meta: prune({ created: row.created?.toISOString() }),
    logins: row.logins ?? undefined,
    tags: row.tags.map((t) => prune({ value: s(t.value, false), type: s(t.type, true) })),
  });
}

interface Views {
  compared: Obj;
  present: Obj;
}

function views(row: Row): Views & { tags: Views[] } {
  const compared = scimObject(row, false);
  const present = scimObject(row, true);
  const tags = (compared.tags as Obj[]).map((t, i) => ({ compared: t, present: (present.tags as Obj[])[i] }));
  return { compared, present, tags };
}

function nest(at: string[], expression: unknown): Obj {
  return at.reduceRight<unknown>((inner, key) => ({ [key]: inner }), expression) as Obj;
}

/** One comparison, as scimmy matches it. */
function oracleLeaf(leaf: Leaf): (v: Views) => boolean {
  const { at, caseExact } = PATHS[leaf.attrPath];
  if (leaf.op === 'pr') {
    const filter = new SCIMMY.Types.Filter(nest(at, ['pr']));
    return (v) => filter.match([v.present]).length > 0;
  }
  const value = typeof leaf.compValue === 'string' && !caseExact ? leaf.compValue.toLowerCase() : leaf.compValue;
  const guarded = ['co', 'sw', 'ew'].includes(leaf.op);
  const filter = new SCIMMY.Types.Filter(nest(at, guarded ? [['pr'], [leaf.op, value]] : [leaf.op, value]));
  return (v) => filter.match([v.compared]).length > 0;
}

function oracle(node: Node): (v: ReturnType<typeof views>) => boolean {
  switch (node.op) {
    case 'and': {
      const parts = node.filters.map(oracle);
      return (v) => parts.every((p) => p(v));
    }
    case 'or': {
      const parts = node.filters.map(oracle);
      return (v) => parts.some((p) => p(v));
    }
    case 'not': {
      const inner = oracle(node.filter);
      return (v) => !inner(v);
    }
    case '[]': {
      const inner = oracle(node.valFilter);
      return (v) => v.tags.some((tag) => inner({ ...tag, tags: [] }));
    }
    default:
      return oracleLeaf(node);
  }
}

function render(node: Node, parent?: string): string {
  switch (node.op) {
    case 'and':
    case 'or': {
      const text = node.filters.map((f) => render(f, node.op)).join(` ${node.op} `);
      // Parentheses only where precedence needs them, or sometimes anyway.
      const needed = parent === 'and' && node.op === 'or';
      return needed || (parent && chance(0.5)) ? `(${text})` : text;
    }
    case 'not':
      return `not (${render(node.filter)})`;
    case '[]':
      return `${node.attrPath}[${render(node.valFilter)}]`;
    case 'pr':
      return `${node.attrPath} pr`;
    default:
      return `${node.attrPath} ${node.op} ${JSON.stringify(node.compValue)}`;
  }
}

const STRING_OPS: Op[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const ORDER_OPS: Op[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];

function changeCase(s: string): string {
  return pick([s, s.toLowerCase(), s.toUpperCase(), [...s].map((c) => (chance(0.5) ? c.toUpperCase() : c)).join('')]);
}

function stringValue(existing: (string | null)[]): string {
  const known = existing.filter((v): v is string => v !== null);
  if (!known.length || chance(0.15)) return randomString();
  const chars = [...pick(known)];
  const from = int(chars.length + 1);
  const to = from + int(chars.length - from + 1);
  const part = pick([chars, chars.slice(0, to), chars.slice(from), chars.slice(from, to)]).join('');
  return chance(0.4) ? changeCase(part) : part;
}

/** eq and ne as the rows are written (scimmy compares them as strings); the others in any ISO 8601 form. */
function dateValue(rows: Row[], exact: boolean): string {
  const known = rows.map((r) => r.created).filter((d): d is Date => d !== null);
  const iso = (chance(0.8) ? pick(known) : randomDate()).toISOString();
  return exact ? iso : pick([iso, iso.slice(0, 10), iso.replace(/\.\d+Z$/, '+00:00'), iso.replace('Z', '-02:30')]);
}

function stringLeaf(path: string, existing: (string | null)[]): Leaf {
  if (chance(0.1)) return { op: 'pr', attrPath: path };
  return { op: pick(STRING_OPS), attrPath: path, compValue: stringValue(existing) };
}

/** A comparison on one attribute, or a value filter on tags. */
function atom(rows: Row[]): Node {
  const tags = rows.flatMap((r) => r.tags);
  switch (int(11)) {
    case 0:
      return stringLeaf(
        'userName',
        rows.map((r) => r.userName),
      );
    case 1:
      return stringLeaf(
        'displayName',
        rows.map((r) => r.display),
      );
    case 2:
      return stringLeaf(
        'externalId',
        rows.map((r) => r.display),
      );
    case 3:
      return stringLeaf(
        'name.givenName',
        rows.map((r) => r.given),
      );
    case 4:
      return stringLeaf(
        pick(['emails', 'emails.value']),
        rows.map((r) => r.email),
      );
    case 5:
      return stringLeaf(
        pick(['tags', 'tags.value']),
        tags.map((t) => t.value),
      );
    case 6:
      return stringLeaf(
        'tags.type',
        tags.map((t) => t.type),
      );
    case 7:
      return chance(0.2)
        ? { op: 'pr', attrPath: 'active' }
        : { op: pick(['eq', 'ne'] as const), attrPath: 'active', compValue: chance(0.5) };
    case 8: {
      if (chance(0.1)) return { op: 'pr', attrPath: 'meta.created' };
      const op = pick(ORDER_OPS);
      return { op, attrPath: 'meta.created', compValue: dateValue(rows, op === 'eq' || op === 'ne') };
    }
    case 9:
      return chance(0.1) ? { op: 'pr', attrPath: 'logins' } : { op: pick(ORDER_OPS), attrPath: 'logins', compValue: int(22) - 1 };
    default:
      return { op: '[]', attrPath: 'tags', valFilter: tree(2, () => tagLeaf(tags)) };
  }
}

function tagLeaf(tags: Tag[]): Leaf {
  return chance(0.5)
    ? stringLeaf(
        'value',
        tags.map((t) => t.value),
      )
    : stringLeaf(
        'type',
        tags.map((t) => t.type),
      );
}

function tree(depth: number, leaf: () => Node): Node {
  const r = random();
  if (depth <= 0 || r < 0.4) return leaf();
  if (r < 0.55) return { op: 'not', filter: tree(depth - 1, leaf) };
  const filters = Array.from({ length: 2 + int(2) }, () => tree(depth - 1, leaf));
  return { op: r < 0.78 ? 'and' : 'or', filters };
}

async function createProbe(db: Knex): Promise<void> {
  const mysql = TEST_DB === 'mysql';
  await db.schema.dropTableIfExists(TAGS);
  await db.schema.dropTableIfExists(TABLE);
  await createTable(db, TABLE, (t) => {
    t.integer('id').primary();
    const userName = t.string('user_name', 150).nullable().index();
    if (mysql) userName.collate('utf8mb4_bin');
    caseInsensitiveString(db, t, 'display', 255).nullable();
    caseInsensitiveString(db, t, 'email', 255).nullable();
    t.boolean('active').nullable();
    timestamp(t, 'created').nullable();
    t.string('given', 255).nullable();
    t.integer('logins').nullable();
  });
  await createTable(db, TAGS, (t) => {
    t.integer('row_id').notNullable().index();
    t.string('value', 255).nullable();
    t.string('type', 20).nullable();
  });
}

async function insertRows(db: Knex, rows: Row[]): Promise<void> {
  await db(TABLE).insert(
    rows.map((r) => ({
      id: r.id,
      user_name: r.userName,
      display: r.display,
      email: r.email,
      active: r.active,
      created: r.created,
      given: r.given,
      logins: r.logins,
    })),
  );
  const tags = rows.flatMap((r) => r.tags.map((t) => ({ row_id: r.id, ...t })));
  if (tags.length) await db(TAGS).insert(tags);
}

async function idsMatching(db: Knex, text: string): Promise<number[]> {
  const { sql, bindings } = filterSql(parseFilter(text), resolve, TEST_DB);
  const rows = await db(TABLE).select('id').whereRaw(sql, bindings).orderBy('id');
  return rows.map((r: { id: number }) => Number(r.id));
}

describe(`SCIM filters as SQL (${TEST_DB})`, function () {
  this.timeout(120_000);
  let db: Knex;
  let rows: Row[];

  before(async () => {
    ({ db } = await freshDb());
    await createProbe(db);
    rows = makeRows();
    await insertRows(db, rows);
  });

  after(async () => {
    if (!db) return;
    await db.schema.dropTableIfExists(TAGS);
    await db.schema.dropTableIfExists(TABLE);
    await db.destroy();
  });

  it('stores the probe rows as generated', async () => {
    const stored = await db(TABLE).select('id', 'user_name', 'display').orderBy('id');
    expect(
      stored.map((r: { user_name: string | null; display: string | null }) => [r.user_name, r.display]),
      `seed ${SEED}`,
    ).to.deep.equal(rows.map((r) => [r.userName, r.display]));
  });

  it(`finds what scimmy finds, for ${FILTERS} random filters`, async () => {
    const all = rows.map((row) => ({ id: row.id, ...views(row) }));
    let telling = 0;
    for (let i = 0; i < FILTERS; i++) {
      const node = tree(3, () => atom(rows));
      const text = render(node);
      const expected = all.filter(oracle(node)).map((r) => r.id);
      expect(await idsMatching(db, text), `seed ${SEED}, filter #${i}: ${text}`).to.deep.equal(expected);
      if (expected.length > 0 && expected.length < ROWS) telling++;
    }
    // Filters that match all rows or none prove little: most must split the rows.
    expect(telling, `seed ${SEED}`).to.be.greaterThan(FILTERS / 2);
  });

  it('compares by code point, with case only where the attribute has it', async () => {
    await db(TABLE).insert([
      { id: 1001, user_name: 'Zed\t', display: 'ÉCOLE', email: 'A@X.ORG' },
      { id: 1002, user_name: 'Zed', display: 'école', email: 'a@x.org' },
      { id: 1003, user_name: 'Zed ', display: 'ecole', email: 'ä@x.org' },
    ]);
    // Only these rows: the random ones may match too.
    const probe = async (text: string) => (await idsMatching(db, text)).filter((id) => id > 1000);
    try {
      expect(await probe('userName eq "Zed"')).to.deep.equal([1002]);
      expect(await probe('userName sw "Zed"')).to.deep.equal([1001, 1002, 1003]);
      expect(await probe('userName sw "Zed\\t"')).to.deep.equal([1001]);
      expect(await probe('userName gt "Zed" and userName lt "Zee"')).to.deep.equal([1001, 1003]);
      expect(await probe('displayName eq "École"')).to.deep.equal([1001, 1002]);
      expect(await probe('externalId eq "école"')).to.deep.equal([1002]);
      expect(await probe('emails sw "A@"')).to.deep.equal([1001, 1002]);
    } finally {
      await db(TABLE).whereIn('id', [1001, 1002, 1003]).delete();
    }
  });
});
