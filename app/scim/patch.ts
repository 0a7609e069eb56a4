/**
 * SCIM PATCH (RFC 7644 §3.5.2) on one resource held as SCIM JSON: core attributes at the top level,
 * extension attributes under their schema's URN. The caller loads the resource, applies the
 * operations here and saves the result; nothing here touches the database.
 *
 * Readings of the RFC where it leaves room:
 * - replace (or add) of a complex attribute merges the sub-attributes given and leaves the others
 *   (§3.5.2.3 "Sub-attributes that are not specified … are left unchanged"), with or without a
 *   path; the same holds for the records a valuePath selects.
 * - remove of an attribute or value that is not there changes nothing and succeeds: the client's
 *   goal already holds (identity providers retry removals).
 * - add or replace through a filter that matches nothing creates the value when the filter only
 *   states equalities (`emails[type eq "work"].value`: what Entra ID sends for a new address);
 *   any other filter gives noTarget.
 * - removing a required attribute gives mutability (§3.5.2.2, last paragraph).
 * - a readOnly attribute given its current value is left alone (Okta renames a group with
 *   `{"id": …, "displayName": …}`); readOnly sub-attributes inside a value (a member's display)
 *   are dropped, as the server computes them.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Compare, Filter } from 'scim2-parse-filter';
import { invalidFilter, invalidPath, invalidSyntax, invalidValue, mutability, noTarget, ScimError } from './errors.js';
import { parseFilter } from './filter.js';
import { type AttrDef, PATCH_SCHEMA, type ResourceType, resolvePath, type SchemaDef } from './schema.js';

export type { Filter };

export interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  path?: string;
  value?: unknown;
}

export interface ParsedPath {
  /** The URN of the schema that defines the attribute, whether or not the path wrote it. */
  schema: string;
  attr: string;
  filter?: Filter;
  sub?: string;
}

type Json = Record<string, unknown>;
type Verb = PatchOp['op'];

/** A path resolved to the definitions it names. */
interface Target {
  schema: string;
  attr: AttrDef;
  filter?: Filter;
  sub?: AttrDef;
}

const MAX_OPERATIONS = 1000;
const VERBS: Verb[] = ['add', 'remove', 'replace'];
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/i;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

// ---- the request body ----

export function readPatch(body: unknown): PatchOp[] {
  if (!isObject(body)) throw invalidSyntax('The PATCH body must be a JSON object.');
  const schemas = get(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_SCHEMA.toLowerCase())) {
    throw invalidSyntax(`schemas must list ${PATCH_SCHEMA}.`);
  }
  const operations = get(body, 'Operations');
  if (!Array.isArray(operations)) throw invalidSyntax('Operations must be an array of operations.');
  if (operations.length === 0) throw invalidValue('Operations must list at least one operation.');
  if (operations.length > MAX_OPERATIONS) throw invalidValue(`Operations may list at most ${MAX_OPERATIONS} operations.`);
  return operations.map(readOperation);
}

function readOperation(raw: unknown, index: number): PatchOp {
  const where = `Operation ${index + 1}`;
  if (!isObject(raw)) throw invalidSyntax(`${where} must be an object.`);
  const verb = get(raw, 'op');
  const op = typeof verb === 'string' ? VERBS.find((v) => v === verb.toLowerCase()) : undefined;
  if (!op) throw invalidSyntax(`${where}: op must be add, remove or replace.`);
  const rawPath = get(raw, 'path');
  if (rawPath !== undefined && typeof rawPath !== 'string') throw invalidSyntax(`${where}: path must be a string.`);
  const path = rawPath?.trim() || undefined;
  const value = get(raw, 'value');
  if (op === 'remove' && path === undefined) throw noTarget(`${where}: remove needs a path.`);
  if (op !== 'remove' && value === undefined) throw invalidValue(`${where}: ${op} needs a value.`);
  return { op, ...(path === undefined ? {} : { path }), ...(value === undefined ? {} : { value }) };
}

// ---- paths ----

export function parsePath(type: ResourceType, path: string): ParsedPath {
  const { schema, attr, filter, sub } = locate(type, path);
  return { schema, attr: attr.name, ...(filter ? { filter } : {}), ...(sub ? { sub: sub.name } : {}) };
}

function locate(type: ResourceType, path: string): Target {
  const open = path.indexOf('[');
  if (open === -1) return plainTarget(type, path);
  const close = closingBracket(path, open);
  const found = resolvePath(type, path.slice(0, open));
  if (!found || found.sub) throw invalidPath(`${path} names no attribute that Roster knows.`);
  if (!found.attr.multiValued)
    throw invalidPath(`${found.attr.name} is single-valued: a [filter] selects values of multi-valued attributes.`);
  const filter = readFilter(type, found.attr, path.slice(open + 1, close), path);
  const sub = subAfterFilter(found.attr, path.slice(close + 1), path);
  return { schema: found.schema, attr: found.attr, filter, ...(sub ? { sub } : {}) };
}

function plainTarget(type: ResourceType, path: string): Target {
  const found = resolvePath(type, path.trim());
  if (!found) throw invalidPath(`${path} names no attribute that Roster knows.`);
  return { schema: found.schema, attr: found.attr, ...(found.sub ? { sub: found.sub } : {}) };
}

/** The `]` that closes the filter opened at `open`, skipping brackets inside quoted strings. */
function closingBracket(path: string, open: number): number {
  let quoted = false;
  for (let i = open + 1; i < path.length; i++) {
    const c = path[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === '[') break;
    else if (!quoted && c === ']') return i;
  }
  throw invalidPath(`${path} is malformed: its [filter] is not closed.`);
}

function subAfterFilter(attr: AttrDef, rest: string, path: string): AttrDef | undefined {
  if (rest === '') return undefined;
  if (!/^\.[^.[\]]+$/.test(rest)) throw invalidPath(`${path} is malformed after its [filter].`);
  const sub = findAttr(attr.subAttributes, rest.slice(1));
  if (!sub) throw invalidPath(`${attr.name} has no sub-attribute ${rest.slice(1)}.`);
  return sub;
}

/** The `[…]` part, read as the SQL filters read theirs (parseFilter decodes JSON escapes the parser leaves). */
function readFilter(type: ResourceType, attr: AttrDef, text: string, path: string): Filter {
  try {
    const filter = parseFilter(text);
    checkFilter(type, attr, filter);
    return filter;
  } catch (error) {
    if (error instanceof ScimError) throw invalidPath(`${path}: ${error.message}`);
    throw error;
  }
}

/** Resolves every attribute a filter names (evaluating it would stop at the first false part). */
function checkFilter(type: ResourceType, attr: AttrDef, filter: Filter): void {
  if (filter.op === 'and' || filter.op === 'or') for (const part of filter.filters) checkFilter(type, attr, part);
  else if (filter.op === 'not') checkFilter(type, attr, filter.filter);
  else itemMatches(type, attr, {}, filter);
}

function findAttr(list: AttrDef[] | undefined, name: string): AttrDef | undefined {
  const lower = name.toLowerCase();
  return list?.find((a) => a.name.toLowerCase() === lower);
}

// ---- value filters on one item ----

/** A sub-attribute a value filter compares, and how to read it from an item. */
interface Field {
  def: AttrDef;
  read: (item: unknown) => unknown;
}

export function itemMatches(type: ResourceType, attr: AttrDef, item: unknown, filter: Filter): boolean {
  switch (filter.op) {
    case 'and':
      return filter.filters.every((f) => itemMatches(type, attr, item, f));
    case 'or':
      return filter.filters.some((f) => itemMatches(type, attr, item, f));
    case 'not':
      return !itemMatches(type, attr, item, filter.filter);
    case '[]':
      throw invalidFilter(`A filter on ${attr.name} cannot hold another [filter].`);
    case 'pr':
      return present(field(type, attr, filter.attrPath).read(item));
    default: {
      const { def, read } = field(type, attr, filter.attrPath);
      return compare(def, filter, read(item));
    }
  }
}

function field(type: ResourceType, attr: AttrDef, attrPath: string): Field {
  const full = /[.:]/.test(attrPath) ? resolvePath(type, attrPath) : undefined;
  const sub = full?.attr === attr ? full.sub : findAttr(attr.subAttributes, attrPath);
  if (sub) return { def: sub, read: (item) => (isObject(item) ? get(item, sub.name) : undefined) };
  if (!attr.subAttributes && attrPath.toLowerCase() === 'value') return { def: { ...attr, multiValued: false }, read: (item) => item };
  throw invalidFilter(`${attr.name} has no sub-attribute ${attrPath} to filter on.`);
}

type Scalar = string | number | boolean;

/** Two-valued, like the SQL filters: an absent value matches ne and nothing else. */
function compare(def: AttrDef, filter: Compare, actual: unknown): boolean {
  const expected = expectedValue(def, filter);
  const stored = actual === undefined || actual === null ? undefined : storedValue(def, actual);
  if (stored === undefined) return filter.op === 'ne';
  return relate(filter.op, stored, expected);
}

/** The filter's value in the form the attribute compares in; invalidFilter where the SQL filters refuse it. */
function expectedValue(def: AttrDef, { op, attrPath, compValue }: Compare): Scalar {
  if (compValue === null) throw invalidFilter(`"${attrPath} ${op} null" is not supported: use "${attrPath} pr" or "not (${attrPath} pr)".`);
  const text = op === 'co' || op === 'sw' || op === 'ew';
  switch (def.type) {
    case 'boolean':
      if (op !== 'eq' && op !== 'ne') throw invalidFilter(`"${attrPath}" is a boolean: only eq, ne and pr apply to it.`);
      return typed(compValue, 'boolean', attrPath);
    case 'complex':
      throw invalidFilter(`"${attrPath}" is complex: filter on its sub-attributes.`);
    case 'string':
    case 'reference':
      return fold(def, typed(compValue, 'string', attrPath));
  }
  if (text || def.type === 'binary') throw invalidFilter(`"${attrPath}" is a ${def.type}: ${op} applies to strings only.`);
  if (def.type !== 'dateTime') return typed(compValue, 'number', attrPath);
  const time = instant(compValue);
  if (time === undefined)
    throw invalidFilter(`"${attrPath}" is a dateTime: compare it with an ISO 8601 string, not ${JSON.stringify(compValue)}.`);
  return time;
}

function typed<T extends 'string' | 'boolean' | 'number'>(value: Scalar, type: T, attrPath: string) {
  if (typeof value !== type) throw invalidFilter(`"${attrPath}" is compared with ${JSON.stringify(value)}, which is not a ${type}.`);
  return value as { string: string; boolean: boolean; number: number }[T];
}

function storedValue(def: AttrDef, value: unknown): Scalar | undefined {
  switch (def.type) {
    case 'boolean':
      return toBoolean(value);
    case 'dateTime':
      return instant(value);
    case 'integer':
    case 'decimal':
      return typeof value === 'number' ? value : undefined;
    case 'complex':
      return undefined;
    default:
      return typeof value === 'string' ? fold(def, value) : undefined;
  }
}

function relate(op: Compare['op'], stored: Scalar, expected: Scalar): boolean {
  if (op === 'co') return String(stored).includes(String(expected));
  if (op === 'sw') return String(stored).startsWith(String(expected));
  if (op === 'ew') return String(stored).endsWith(String(expected));
  const order = typeof stored === 'string' ? byCodePoint(stored, String(expected)) : stored === expected ? 0 : stored < expected ? -1 : 1;
  const holds = { eq: order === 0, ne: order !== 0, gt: order > 0, ge: order >= 0, lt: order < 0, le: order <= 0 };
  return holds[op];
}

/** Strings order by code point, as both databases compare them (JavaScript's < compares UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d) return d;
  }
  return x.length - y.length;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** A dateTime as an instant; without a zone it is UTC, as in the SQL filters. */
function instant(value: unknown): number | undefined {
  const text = typeof value === 'string' ? value.toUpperCase() : '';
  const match = ISO_8601.exec(text);
  const time = match ? Date.parse(match[1] || !text.includes('T') ? text : `${text}Z`) : Number.NaN;
  return Number.isNaN(time) ? undefined : time;
}

/** Text as a case-insensitive attribute compares it; the SQL filters lower the same way. */
function fold(def: AttrDef, text: string): string {
  return def.caseExact ? text : text.toLowerCase();
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

/** RFC 7643 §2.5: null, an empty array and an empty object all mean unassigned. */
function present(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return !isObject(value) || Object.keys(value).length > 0;
}

// ---- values sent by clients ----

/** The value checked against the attribute's type, with names made canonical; null stays null (unassign). */
function coerce(def: AttrDef, value: unknown, where: string): unknown {
  if (value === null) return null;
  if (!def.multiValued) return coerceOne(def, value, where);
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) => {
    if (item === null) throw invalidValue(`${where} cannot hold null values.`);
    return withoutNulls(coerceOne(def, item, where));
  });
}

function coerceOne(def: AttrDef, value: unknown, where: string): unknown {
  switch (def.type) {
    case 'complex':
      return coerceComplex(def, value, where);
    case 'boolean': {
      const flag = toBoolean(value);
      if (flag === undefined) throw invalidValue(`${where} must be true or false.`);
      return flag;
    }
    case 'dateTime':
      if (typeof value !== 'string' || !DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
        throw invalidValue(`${where} must be an ISO 8601 date and time, such as 2030-01-31T17:00:00Z.`);
      }
      return value;
    case 'integer':
    case 'decimal':
      if (typeof value !== 'number' || !Number.isFinite(value) || (def.type === 'integer' && !Number.isInteger(value))) {
        throw invalidValue(`${where} must be ${def.type === 'integer' ? 'an integer' : 'a number'}.`);
      }
      return value;
    default:
      if (typeof value !== 'string') throw invalidValue(`${where} must be a string.`);
      return value;
  }
}

function coerceComplex(def: AttrDef, value: unknown, where: string): Json {
  // Entra ID sends the manager as its bare id.
  if (typeof value === 'string' && !def.multiValued && findAttr(def.subAttributes, 'value')) return { value };
  if (!isObject(value)) throw invalidValue(`${where} must be an object of sub-attributes.`);
  const result: Json = {};
  for (const [key, subValue] of Object.entries(value)) {
    const sub = findAttr(def.subAttributes, key);
    if (!sub) throw invalidPath(`${where} has no sub-attribute ${key}.`);
    if (sub.mutability !== 'readOnly') result[sub.name] = coerce(sub, subValue, `${where}.${sub.name}`);
  }
  return result;
}

function withoutNulls(value: unknown): unknown {
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

// ---- reading and writing attributes on an object ----

function keyOf(obj: Json, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

function get(obj: Json, name: string): unknown {
  const key = keyOf(obj, name);
  return key === undefined ? undefined : obj[key];
}

/** Sets the attribute under its canonical name; null or undefined removes it. */
function put(obj: Json, name: string, value: unknown): void {
  const key = keyOf(obj, name);
  if (key !== undefined && key !== name) delete obj[key];
  if (value === null || value === undefined) delete obj[name];
  else obj[name] = value;
}

/** Writes one attribute, refusing to change an immutable one that already has a value. */
function assign(obj: Json, def: AttrDef, value: unknown): void {
  const before = get(obj, def.name);
  if (def.mutability === 'immutable' && present(before) && !sameValue(def, before, value)) {
    throw mutability(`${def.name} is immutable: it cannot change once set.`);
  }
  put(obj, def.name, value);
}

function sameValue(def: AttrDef, a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') return fold(def, a) === fold(def, b);
  return isDeepStrictEqual(a, b);
}

/** Whether an existing item holds every sub-attribute of `given` (how add skips and remove finds values). */
function holds(attr: AttrDef, item: unknown, given: unknown): boolean {
  if (!attr.subAttributes) return sameValue(attr, item, given);
  if (!isObject(item) || !isObject(given) || Object.keys(given).length === 0) return false;
  return Object.entries(given).every(([key, value]) => {
    const sub = findAttr(attr.subAttributes, key);
    return sub !== undefined && sameValue(sub, get(item, sub.name), value);
  });
}

function merge(obj: Json, def: AttrDef, value: Json): void {
  for (const [key, subValue] of Object.entries(value)) assign(obj, findAttr(def.subAttributes, key)!, subValue);
}

function itemsOf(holder: Json, attr: AttrDef): unknown[] {
  const value = get(holder, attr.name);
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

/** The object under `name`, created empty when there is none (tidy and syncExtensions drop it if it stays empty). */
function objectAt(holder: Json, name: string): Json {
  const value = get(holder, name);
  if (isObject(value)) return value;
  const created: Json = {};
  put(holder, name, created);
  return created;
}

/** Where a schema's attributes live: the resource itself for the core schema, else its URN's object. */
function container(type: ResourceType, resource: Json, schema: string): Json {
  return schema === type.core.id ? resource : objectAt(resource, schema);
}

/** Drops what an operation left empty: items without sub-attributes, then an empty attribute. */
function tidy(holder: Json, attr: AttrDef): void {
  const value = get(holder, attr.name);
  if (Array.isArray(value)) {
    const kept = value.filter(present);
    put(holder, attr.name, kept.length ? kept : null);
  } else if (!present(value)) {
    put(holder, attr.name, null);
  }
}

/** RFC 7643 §2.4: the value an operation makes primary is the only primary one. */
function keepOnePrimary(items: unknown[], written: unknown[]): void {
  const chosen = written.findLast((item) => isObject(item) && item.primary === true);
  if (!chosen) return;
  for (const item of items) if (item !== chosen && isObject(item) && item.primary === true) item.primary = false;
}

// ---- applying operations ----

export function applyPatch(type: ResourceType, resource: Record<string, unknown>, ops: PatchOp[]): Record<string, unknown> {
  const result = structuredClone(resource);
  ops.forEach((op, index) => {
    try {
      applyOne(type, result, op);
    } catch (error) {
      if (!(error instanceof ScimError)) throw error;
      throw new ScimError(error.status, error.scimType, `Operation ${index + 1}: ${error.message}`);
    }
  });
  keepRequired(type, resource, result);
  syncExtensions(type, result);
  return result;
}

function applyOne(type: ResourceType, resource: Json, op: PatchOp): void {
  if (op.path === undefined) {
    if (op.op === 'remove') throw noTarget('remove needs a path.');
    applyValueObject(type, resource, op.op, op.value);
    return;
  }
  const extension = schemaNamed(type.extensions, op.path);
  if (extension && op.op === 'remove') put(resource, extension.id, null);
  else if (extension) applyValueObject(type, resource, op.op, { [extension.id]: op.value });
  else applyToPath(type, resource, op, op.path);
}

function applyToPath(type: ResourceType, resource: Json, op: PatchOp, path: string): void {
  const target = locate(type, path);
  const holder = container(type, resource, target.schema);
  if (target.attr.mutability === 'readOnly' || target.sub?.mutability === 'readOnly') {
    if (op.op !== 'remove' && !target.filter && !target.sub && sameValue(target.attr, get(holder, target.attr.name), op.value)) return;
    throw mutability(`${target.sub ? `${target.attr.name}.${target.sub.name}` : target.attr.name} is read-only.`);
  }
  if (op.op === 'remove') removeAt(type, holder, target, op.value);
  else writeAt(type, holder, target, op.op, op.value);
  tidy(holder, target.attr);
}

function schemaNamed(schemas: SchemaDef[], name: string): SchemaDef | undefined {
  return schemas.find((s) => s.id.toLowerCase() === name.toLowerCase());
}

/** add or replace without a path: each key is an attribute path (Entra ID sends `name.givenName`) or a schema's URN. */
function applyValueObject(type: ResourceType, resource: Json, op: Verb, value: unknown): void {
  if (!isObject(value)) throw invalidValue(`Without a path, ${op} needs an object of attributes as its value.`);
  for (const [key, attrValue] of Object.entries(value)) {
    if (key.toLowerCase() === 'schemas') continue; // Roster keeps schemas in step with the attributes itself.
    const schema = schemaNamed([type.core, ...type.extensions], key);
    if (!schema) {
      applyOne(type, resource, { op, path: key, value: attrValue });
      continue;
    }
    if (!isObject(attrValue)) throw invalidValue(`${schema.id} must be an object of attributes.`);
    for (const [name, v] of Object.entries(attrValue)) applyOne(type, resource, { op, path: `${schema.id}:${name}`, value: v });
  }
}

function writeAt(type: ResourceType, holder: Json, target: Target, op: Verb, value: unknown): void {
  const { attr, sub, filter } = target;
  if (filter) writeFiltered(type, holder, target, value);
  else if (sub) writeSub(holder, attr, sub, value);
  else if (attr.multiValued) writeItems(holder, attr, op, (coerce(attr, value, attr.name) ?? []) as unknown[]);
  else writeSingle(holder, attr, coerce(attr, value, attr.name));
}

function writeSingle(holder: Json, attr: AttrDef, coerced: unknown): void {
  if (attr.type === 'complex' && coerced !== null) merge(objectAt(holder, attr.name), attr, coerced as Json);
  else assign(holder, attr, coerced);
}

function writeItems(holder: Json, attr: AttrDef, op: Verb, items: unknown[]): void {
  if (op === 'add') {
    appendItems(holder, attr, items);
    return;
  }
  assign(holder, attr, items);
  keepOnePrimary(items, items);
}

function appendItems(holder: Json, attr: AttrDef, items: unknown[]): void {
  const list = [...itemsOf(holder, attr)];
  const added = items.filter((item) => {
    if (list.some((existing) => holds(attr, existing, item))) return false;
    list.push(item);
    return true;
  });
  put(holder, attr.name, list);
  keepOnePrimary(list, added);
}

/** `name.givenName` sets one sub-attribute; `emails.value` sets it on every value there is. */
function writeSub(holder: Json, attr: AttrDef, sub: AttrDef, value: unknown): void {
  const coerced = coerce(sub, value, `${attr.name}.${sub.name}`);
  if (!attr.multiValued) {
    assign(objectAt(holder, attr.name), sub, coerced);
    return;
  }
  const items = itemsOf(holder, attr).filter(isObject);
  if (!items.length) throw noTarget(`There are no ${attr.name} values to set ${sub.name} on.`);
  for (const item of items) assign(item, sub, coerced);
  keepOnePrimary(items, items);
}

function writeFiltered(type: ResourceType, holder: Json, target: Target, value: unknown): void {
  const { attr, sub, filter } = target;
  const list = [...itemsOf(holder, attr)];
  const matched = list.filter((item) => itemMatches(type, attr, item, filter!));
  const coerced = sub ? coerce(sub, value, `${attr.name}.${sub.name}`) : coerceComplex(attr, value, attr.name);
  if (!matched.length) {
    if (coerced === null) return;
    const created = newItem(type, target, coerced);
    list.push(created);
    matched.push(created);
  } else {
    for (const item of matched.filter(isObject)) {
      if (sub) assign(item, sub, coerced);
      else merge(item, attr, coerced as Json);
    }
  }
  put(holder, attr.name, list);
  keepOnePrimary(list, matched);
}

/** The value a filter of equalities describes, with the operation's value added to it. */
function newItem(type: ResourceType, target: Target, coerced: unknown): Json {
  const { attr, sub, filter } = target;
  const stated = equalities(type, attr, filter!);
  if (!stated) throw noTarget(`No ${attr.name} value matches the filter.`);
  const item = coerceComplex(attr, stated, attr.name);
  if (sub) item[sub.name] = coerced;
  else Object.assign(item, coerced);
  return withoutNulls(item) as Json;
}

/** `type eq "work"` or `type eq "work" and primary eq true` as sub-attributes; undefined for any other filter. */
function equalities(type: ResourceType, attr: AttrDef, filter: Filter): Json | undefined {
  if (filter.op === 'eq' && filter.compValue !== null) return { [field(type, attr, filter.attrPath).def.name]: filter.compValue };
  if (filter.op !== 'and') return undefined;
  const parts = filter.filters.map((f) => equalities(type, attr, f));
  if (parts.some((p) => p === undefined)) return undefined;
  const names = parts.flatMap((p) => Object.keys(p!));
  return new Set(names).size === names.length ? Object.assign({}, ...parts) : undefined;
}

function removeAt(type: ResourceType, holder: Json, target: Target, value: unknown): void {
  const { attr, sub, filter } = target;
  if (filter) {
    removeFiltered(type, holder, target);
  } else if (sub) {
    const owners = attr.multiValued ? itemsOf(holder, attr) : [get(holder, attr.name)];
    for (const owner of owners.filter(isObject)) assign(owner, sub, null);
  } else if (attr.multiValued && value !== undefined && value !== null) {
    removeItems(holder, attr, coerce(attr, value, attr.name) as unknown[]);
  } else {
    assign(holder, attr, null);
  }
}

/** `members[value eq "42"]` removes the values selected; `emails[type eq "work"].display` a sub-attribute of them. */
function removeFiltered(type: ResourceType, holder: Json, { attr, sub, filter }: Target): void {
  const list = itemsOf(holder, attr);
  const matched = list.filter((item) => itemMatches(type, attr, item, filter!));
  if (!sub) {
    put(
      holder,
      attr.name,
      list.filter((item) => !matched.includes(item)),
    );
    return;
  }
  for (const item of matched.filter(isObject)) assign(item, sub, null);
}

/** Entra ID and Okta remove members by value: `{"op":"remove","path":"members","value":[{"value":"42"}]}`. */
function removeItems(holder: Json, attr: AttrDef, given: unknown[]): void {
  const kept = itemsOf(holder, attr).filter((item) => !given.some((g) => holds(attr, item, g)));
  put(holder, attr.name, kept);
}

/** §3.5.2.2: a required attribute the resource had cannot end up unassigned. */
function keepRequired(type: ResourceType, before: Json, after: Json): void {
  for (const schema of [type.core, ...type.extensions]) {
    const was = schema === type.core ? before : get(before, schema.id);
    const now = schema === type.core ? after : get(after, schema.id);
    for (const attr of schema.attributes.filter((a) => a.required)) {
      if (isObject(was) && present(get(was, attr.name)) && !(isObject(now) && present(get(now, attr.name)))) {
        throw mutability(`${attr.name} is required: it cannot be removed.`);
      }
    }
  }
}

/** An extension's URN is in schemas exactly when the resource has attributes of it. */
function syncExtensions(type: ResourceType, resource: Json): void {
  let schemas = Array.isArray(resource.schemas) ? [...resource.schemas] : [type.core.id];
  for (const extension of type.extensions) {
    const has = present(get(resource, extension.id));
    if (!has) put(resource, extension.id, null);
    const listed = schemas.some((s) => typeof s === 'string' && s.toLowerCase() === extension.id.toLowerCase());
    if (has && !listed) schemas.push(extension.id);
    if (!has && listed) schemas = schemas.filter((s) => typeof s !== 'string' || s.toLowerCase() !== extension.id.toLowerCase());
  }
  resource.schemas = schemas;
}
