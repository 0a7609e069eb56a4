// Differential test: random Users and random valid PATCH operations, applied by app/scim/patch.ts and
// by the independent scim-patch package; the results must agree. Replay a failure with the seed it
// prints: SCIM_PATCH_SEED=<seed> node --import tsx test/run.ts test/unit/scim-patch-oracle.test.ts
//
// scim-patch differs from Roster on purpose in a few places, so the generator stays out of them:
// - names: scim-patch matches attribute names and filter values with case; the generator writes the
//   canonical names and lower-case values (case rules are in scim-patch.test.ts).
// - a value-only add/replace of `name` replaces it whole in scim-patch; Roster merges (§3.5.2.3). The
//   generator gives all three sub-attributes a User here can have, where both readings agree.
// - a value-only add of `emails` concatenates in scim-patch without skipping values already there;
//   the generator adds fresh values there.
// - primary: scim-patch keeps every primary; operations here never set primary to true.
// - booleans: scim-patch keeps "False" as a string; operations here send JSON booleans.
// - a filter that matches nothing: scim-patch creates the value only for one `eq` and a sub-attribute
//   path, and errs on a remove through it; Roster also creates for an `and` of equalities and for a
//   path without sub-attribute, and removes nothing. Other filters are generated only when they match.
// - remove by value: scim-patch removes values deeply equal to one given, Roster values holding all
//   its sub-attributes; the generator removes a value that no other value holds.
// - what is left empty: scim-patch keeps `{}` and may leave an item `{}`, Roster drops them. Results
//   are compared as RFC 7643 §2.5 states, where empty and absent are the same; the generator never
//   empties an item, and schemas (kept by Roster, not by scim-patch) is checked apart.
import { expect } from 'chai';
import { type ScimPatchOperation, type ScimResource, scimPatch } from 'scim-patch';
import { filter as compileFilter, parse } from 'scim2-parse-filter';
import { applyPatch, type PatchOp } from '../../app/scim/patch.js';
import { ENTERPRISE_SCHEMA, USER_SCHEMA, USER_TYPE } from '../../app/scim/schema.js';
import { prng } from '../support/prng.js';

type Json = Record<string, unknown>;

const CASES = 400;
const TYPES = ['work', 'home', 'other'];
const NAME_PARTS = ['givenName', 'familyName', 'formatted'];
const MULTI = ['emails', 'phoneNumbers'];
const DEPARTMENT = `${ENTERPRISE_SCHEMA}:department`;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

class Gen {
  private count = 0;
  constructor(private readonly random: () => number) {}
  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
  some<T>(list: readonly T[]): T[] {
    const chosen = list.filter(() => this.chance(0.5));
    return chosen.length ? chosen : [this.pick(list)];
  }
  /** A value no other in this run has: adding it never meets a duplicate. */
  fresh(kind: string): string {
    this.count++;
    const word = this.pick(['ann', 'bob', 'cy', 'dee', 'eli']);
    if (kind === 'emails') return `${word}.${this.count}@${this.pick(['example.org', 'mail.example'])}`;
    if (kind === 'phoneNumbers') return `555-01${this.count}`;
    return `${word} ${kind} ${this.count}`;
  }
  item(attr: string): Json {
    return { value: this.fresh(attr), type: this.pick(TYPES), primary: false };
  }
  /** Core attributes with or without their schema's URN, which scim-patch also strips. */
  core(path: string): string {
    return this.chance(0.2) ? `${USER_SCHEMA}:${path}` : path;
  }
}

function randomUser(g: Gen): Json {
  const user: Json = { schemas: [USER_SCHEMA], id: String(g.int(1000)), meta: { resourceType: 'User' }, userName: g.fresh('user') };
  if (g.chance(0.7)) user.displayName = g.fresh('display');
  if (g.chance(0.7)) user.name = Object.fromEntries(g.some(NAME_PARTS).map((p) => [p, g.fresh(p)]));
  if (g.chance(0.5)) user.title = g.fresh('title');
  if (g.chance(0.6)) user.active = g.chance(0.5);
  for (const attr of MULTI) {
    if (!g.chance(0.7)) continue;
    const items = Array.from({ length: 1 + g.int(3) }, () => g.item(attr));
    if (g.chance(0.5)) g.pick(items).primary = true;
    user[attr] = items;
  }
  if (g.chance(0.4)) {
    user[ENTERPRISE_SCHEMA] = { department: g.fresh('department') };
    (user.schemas as string[]).push(ENTERPRISE_SCHEMA);
  }
  return user;
}

const objects = (state: Json, attr: string): Json[] => (Array.isArray(state[attr]) ? (state[attr] as unknown[]).filter(isObject) : []);
const matching = (items: Json[], filter: string) => items.filter(compileFilter(parse(filter)));

/** Filters built from a value present in the state; the caller checks which of them match. */
function filtersFrom(g: Gen, items: Json[]): string[] {
  const e = g.pick(items);
  const list = [`type eq "${g.pick(TYPES)}" or type eq "${g.pick(TYPES)}"`, 'value pr', 'display pr'];
  if (typeof e.type === 'string') list.push(`type eq "${e.type}"`, `not (type eq "${e.type}")`);
  if (typeof e.type === 'string' && typeof e.primary === 'boolean') list.push(`type eq "${e.type}" and primary eq ${e.primary}`);
  if (typeof e.value === 'string') {
    const v = e.value;
    list.push(`value eq "${v}"`, `value sw "${v.slice(0, 3)}"`, `value co "${v.slice(2, 6)}"`, `value ew "${v.slice(-4)}"`);
    list.push(`value gt "${v}"`, `value ge "${v}"`, `value lt "${v}"`, `value le "${v}"`);
    // ne on an absent sub-attribute: Roster matches (not eq), scim2-parse-filter does not.
    if (items.every((i) => typeof i.value === 'string')) list.push(`value ne "${v}"`);
  }
  return list;
}

/** A filter that matches at least one value in the state, or undefined. */
function matchingFilter(g: Gen, items: Json[]): string | undefined {
  if (!items.length) return undefined;
  const found = filtersFrom(g, items).filter((f) => matching(items, f).length > 0);
  return found.length ? g.pick(found) : undefined;
}

function subValue(g: Gen, attr: string, sub: string): unknown {
  if (sub === 'type') return g.pick(TYPES);
  if (sub === 'primary') return false;
  return g.fresh(sub === 'value' ? attr : sub);
}

/** Whether removing `sub` from these values leaves none of them empty. */
const leavesItems = (items: Json[], sub: string) => items.every((i) => !(sub in i) || Object.keys(i).length > 1);

type Maker = (g: Gen, state: Json) => PatchOp | undefined;
const addOrReplace = (g: Gen) => g.pick(['add', 'replace'] as const);

const MAKERS: Maker[] = [
  (g) => ({ op: addOrReplace(g), path: g.core(g.pick(['displayName', 'title', 'nickName', 'userName'])), value: g.fresh('text') }),
  (g) => ({ op: addOrReplace(g), path: g.core('active'), value: g.chance(0.5) }),
  (g) => ({ op: addOrReplace(g), path: DEPARTMENT, value: g.fresh('department') }),
  (g) => ({ op: addOrReplace(g), path: g.core(`name.${g.pick(NAME_PARTS)}`), value: g.fresh('part') }),
  (g) => ({ op: addOrReplace(g), path: 'name', value: Object.fromEntries(g.some(NAME_PARTS).map((p) => [p, g.fresh(p)])) }),
  (g) => {
    const attr = g.pick(MULTI);
    return { op: 'replace', path: attr, value: Array.from({ length: 1 + g.int(2) }, () => g.item(attr)) };
  },
  (g, state) => {
    const attr = g.pick(MULTI);
    const value = Array.from({ length: g.int(3) }, () => g.item(attr));
    const existing = objects(state, attr);
    if (existing.length && g.chance(0.5)) value.push(structuredClone(g.pick(existing)));
    return value.length ? { op: 'add', path: attr, value } : undefined;
  },
  // A sub-attribute of the values a filter selects; a single eq may match nothing (both create).
  (g, state) => {
    const attr = g.pick(MULTI);
    const sub = g.pick(['value', 'display', 'type', 'primary']);
    const single = g.chance(0.5) ? `type eq "${g.pick(TYPES)}"` : `value eq "${g.fresh(attr)}"`;
    const filter = g.chance(0.3) ? single : (matchingFilter(g, objects(state, attr)) ?? single);
    return { op: addOrReplace(g), path: `${attr}[${filter}].${sub}`, value: subValue(g, attr, sub) };
  },
  (g, state) => {
    const attr = g.pick(MULTI);
    const filter = matchingFilter(g, objects(state, attr));
    const value = Object.fromEntries(g.some(['display', 'type', 'primary']).map((s) => [s, subValue(g, attr, s)]));
    return filter ? { op: addOrReplace(g), path: `${attr}[${filter}]`, value } : undefined;
  },
  (g, state) => {
    const attr = g.pick(MULTI);
    return objects(state, attr).length ? { op: addOrReplace(g), path: `${attr}.display`, value: g.fresh('display') } : undefined;
  },
  (g) => ({ op: 'remove', path: g.pick(['displayName', 'title', 'nickName', 'active', 'name', ...MULTI, DEPARTMENT]) }),
  (g, state) => {
    const part = g.pick(NAME_PARTS);
    const name = isObject(state.name) ? state.name : {};
    return leavesItems([name], part) ? { op: 'remove', path: g.core(`name.${part}`) } : undefined;
  },
  // Through a filter that may match nothing; scim-patch errs when the attribute is absent.
  (g, state) => {
    const attr = g.pick(MULTI);
    const items = objects(state, attr);
    return items.length ? { op: 'remove', path: `${attr}[${g.pick(filtersFrom(g, items))}]` } : undefined;
  },
  (g, state) => {
    const attr = g.pick(MULTI);
    const items = objects(state, attr);
    const filter = matchingFilter(g, items);
    const sub = g.pick(['value', 'display', 'type', 'primary']);
    return filter && leavesItems(matching(items, filter), sub) ? { op: 'remove', path: `${attr}[${filter}].${sub}` } : undefined;
  },
  (g, state) => {
    const attr = g.pick(MULTI);
    const items = objects(state, attr);
    if (!items.length) return undefined;
    const e = g.pick(items);
    const heldElsewhere = items.some((i) => !isDeepEqual(i, e) && Object.entries(e).every(([k, v]) => i[k] === v));
    return heldElsewhere || !Object.keys(e).length ? undefined : { op: 'remove', path: attr, value: [structuredClone(e)] };
  },
  (g) => {
    const keys: Record<string, () => unknown> = {
      displayName: () => g.fresh('display'),
      title: () => g.fresh('title'),
      active: () => g.chance(0.5),
      [`name.${g.pick(NAME_PARTS)}`]: () => g.fresh('part'),
      name: () => Object.fromEntries(NAME_PARTS.map((p) => [p, g.fresh(p)])),
      [DEPARTMENT]: () => g.fresh('department'),
      emails: () => [g.item('emails')],
    };
    const value = Object.fromEntries(g.some(Object.keys(keys)).map((k) => [k, keys[k]()]));
    return { op: addOrReplace(g), value };
  },
];

function isDeepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function theirs(resource: Json, ops: PatchOp[]): Json {
  const options = { mutateDocument: false, treatMissingAsAdd: true };
  const patched = scimPatch(structuredClone(resource) as unknown as ScimResource, structuredClone(ops) as ScimPatchOperation[], options);
  return patched as unknown as Json;
}

function randomOps(g: Gen, user: Json): PatchOp[] {
  const ops: PatchOp[] = [];
  let state = user;
  const length = 1 + g.int(5);
  while (ops.length < length) {
    const op = g.pick(MAKERS)(g, state);
    if (!op) continue;
    ops.push(op);
    state = theirs(state, [op]);
  }
  return ops;
}

/** RFC 7643 §2.5: null, [] and {} are unassigned, as is an attribute left out. */
function unassignedDropped(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(unassignedDropped).filter((v) => v !== undefined);
    return items.length ? items : undefined;
  }
  if (isObject(value)) {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, unassignedDropped(v)])
      .filter(([, v]) => v !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return value ?? undefined;
}

function comparable(resource: Json): unknown {
  const { schemas: _, ...rest } = resource;
  return unassignedDropped(rest);
}

describe('SCIM PATCH against scim-patch (seeded differential test)', () => {
  const seed = Number(process.env.SCIM_PATCH_SEED ?? Math.floor(Math.random() * 2 ** 32));

  it(`agrees on ${CASES} random users and operation lists`, function () {
    this.timeout(30_000);
    const g = new Gen(prng(seed));
    for (let n = 0; n < CASES; n++) {
      const user = randomUser(g);
      const ops = randomOps(g, user);
      const before = structuredClone(user);
      const where = `seed ${seed} (SCIM_PATCH_SEED=${seed}), case ${n}\nuser: ${JSON.stringify(user)}\nops: ${JSON.stringify(ops)}`;
      let ours: Json;
      try {
        ours = applyPatch(USER_TYPE, user, structuredClone(ops));
      } catch (error) {
        throw new Error(`${where}\napplyPatch threw: ${(error as Error).message}`);
      }
      expect(comparable(ours), where).to.deep.equal(comparable(theirs(user, ops)));
      expect(user, `${where}\nthe input changed`).to.deep.equal(before);
      const listed = (ours.schemas as string[]).includes(ENTERPRISE_SCHEMA);
      expect(listed, `${where}\nschemas: ${JSON.stringify(ours.schemas)}`).to.equal(ours[ENTERPRISE_SCHEMA] !== undefined);
    }
  });
});
