/**
 * SCIM filters (RFC 7644 §3.4.2.2) as SQL conditions: parsed by scim2-parse-filter, translated to
 * one parameterised condition that the database evaluates. Every comparison is two-valued (never
 * SQL NULL), so `not` and `or` mean what they mean in a filter, and both databases compare by code
 * point: SQLite as written, MariaDB through binary strings.
 */

import type { Knex } from 'knex';
import { type Compare, type Filter, parse, type Suffix, type ValuePath } from 'scim2-parse-filter';
import { prefixEnd, UNICODE_LOWER } from '../db.js';
import { invalidFilter } from './errors.js';

export type { Filter };

export interface Scalar {
  kind: 'scalar';
  sql: string;
  type: 'string' | 'boolean' | 'dateTime' | 'integer' | 'decimal';
  caseExact: boolean;
  /** the SQL value already compares by code point on MariaDB (utf8mb4_bin column): no COLLATE needed, so an index on it serves eq and sw */
  binary?: boolean;
  /** a string attribute held as an integer (ids): eq "42" compares the number, so that its index serves; the rest its decimal text */
  numeric?: boolean;
}

export interface Multi {
  kind: 'multi';
  /** SQL that is true when some value satisfies `condition` (e.g. `exists (select 1 from group_memberships gm where gm.group_id = groups.id and (${condition}))`), or just `(${condition})` for an attribute stored as one value */
  exists(condition: string): string;
  /** a sub-attribute, in the scope of exists() */
  sub(name: string): Scalar | undefined;
}

export type Target = Scalar | Multi;
/** resolves an attribute path as written (userName, name.givenName, emails, urn:…:enterprise:2.0:User:department, meta.lastModified); undefined = unknown / not filterable */
export type Resolver = (path: string) => Target | undefined;
export type Dialect = 'sqlite' | 'mysql';

export const FILTER_MAX = 4000;
const NESTING_MAX = 50;

interface Sql {
  sql: string;
  bindings: Knex.Value[];
}

/** A scalar as a filter reaches it: inside a multi-valued attribute's exists(), or on its own. */
interface Located {
  scalar: Scalar;
  wrap(condition: string): string;
}

interface Scope {
  dialect: Dialect;
  locate(path: string): Located;
  /** The multi-valued attribute that `[…]` filters, or undefined inside one (they do not nest). */
  multi(path: string): Multi | undefined;
}

export function parseFilter(text: string): Filter {
  if (!text.trim()) throw invalidFilter('The filter is empty.');
  if (text.length > FILTER_MAX) throw invalidFilter(`The filter is longer than ${FILTER_MAX} characters.`);
  const { masked, literals } = maskLiterals(text);
  checkShape(masked);
  let filter: Filter;
  try {
    filter = parse(masked);
  } catch (err) {
    const reason = (err as Error).message.replace(/"(\d+)"/g, (_, i) => JSON.stringify(literals[Number(i)]));
    throw invalidFilter(`The filter is not valid (RFC 7644 §3.4.2.2): ${reason}`);
  }
  restoreLiterals(filter, literals);
  if (nesting(filter) > NESTING_MAX) throw invalidFilter(`The filter nests deeper than ${NESTING_MAX} levels.`);
  return filter;
}

// A JSON string, or a JSON number outside attribute names (which start with a letter, as urn:…:2.0:User does).
const LITERAL = /"(?:[^"\\]|\\[\s\S])*"|(?<![-\w.:/%])-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])/g;

/**
 * Replaces each string and number with its index, read here: the parser does not decode JSON
 * escapes (it reads "a\\b" as two backslashes, "\u00e9" as six characters), and it refuses a
 * negative number or 1e+5 followed by anything.
 */
function maskLiterals(text: string): { masked: string; literals: (string | number)[] } {
  const literals: (string | number)[] = [];
  const masked = text.replace(LITERAL, (literal) => {
    try {
      literals.push(JSON.parse(literal));
    } catch {
      throw invalidFilter(`The filter's string ${literal} is not a valid JSON string.`);
    }
    return `"${literals.length - 1}"`;
  });
  if (masked.replace(/"\d+"/g, '').includes('"')) throw invalidFilter('The filter has a string without its closing quote.');
  return { masked, literals };
}

/** Checks what the parser would accept wrongly, or recurse on without end. */
function checkShape(masked: string): void {
  if (masked.includes('].')) {
    throw invalidFilter('A filter cannot name a sub-attribute after a value filter: write emails[type eq "work" and value co "x"].');
  }
  let depth = 0;
  for (const char of masked) {
    if (char === '(' || char === '[') depth++;
    else if (char === ')' || char === ']') depth--;
    if (depth > NESTING_MAX) throw invalidFilter(`The filter nests deeper than ${NESTING_MAX} levels.`);
  }
}

function restoreLiterals(filter: Filter, literals: (string | number)[]): void {
  switch (filter.op) {
    case 'and':
    case 'or':
      for (const f of filter.filters) restoreLiterals(f, literals);
      return;
    case 'not':
      restoreLiterals(filter.filter, literals);
      return;
    case '[]':
      restoreLiterals(filter.valFilter, literals);
      return;
    case 'pr':
      return;
    default:
      if (typeof filter.compValue === 'string') filter.compValue = literals[Number(filter.compValue)];
  }
}

function nesting(filter: Filter): number {
  switch (filter.op) {
    case 'and':
    case 'or':
      return 1 + Math.max(...filter.filters.map(nesting));
    case 'not':
      return 1 + nesting(filter.filter);
    case '[]':
      return 1 + nesting(filter.valFilter);
    default:
      return 0;
  }
}

export function filterSql(filter: Filter, resolve: Resolver, dialect: Dialect): { sql: string; bindings: Knex.Value[] } {
  const scope: Scope = {
    dialect,
    locate: (path) => locate(resolve, path),
    multi: (path) => {
      const target = resolve(path);
      if (!target) throw unknown(path);
      if (target.kind !== 'multi') throw invalidFilter(`"${path}" is not a multi-valued attribute: it takes no [filter].`);
      return target;
    },
  };
  return translate(filter, scope);
}

function unknown(path: string): Error {
  return invalidFilter(`The filter names an attribute that does not exist or cannot be filtered on: "${path}".`);
}

/** `emails` and `emails.type` reach into the multi-valued attribute; `emails` alone means its value. */
function locate(resolve: Resolver, path: string): Located {
  const target = resolve(path);
  if (target?.kind === 'scalar') return { scalar: target, wrap: (c) => c };
  if (target?.kind === 'multi') return inMulti(target, 'value', path);
  const dot = path.lastIndexOf('.');
  const sub = path.slice(dot + 1);
  const parent = dot > 0 && !sub.includes(':') ? resolve(path.slice(0, dot)) : undefined;
  if (parent?.kind === 'multi') return inMulti(parent, sub, path);
  throw unknown(path);
}

function inMulti(multi: Multi, name: string, path: string): Located {
  const scalar = multi.sub(name);
  if (!scalar) throw unknown(path);
  return { scalar, wrap: (c) => multi.exists(c) };
}

function translate(filter: Filter, scope: Scope): Sql {
  switch (filter.op) {
    case 'and':
    case 'or': {
      const parts = filter.filters.map((f) => translate(f, scope));
      return { sql: `(${parts.map((p) => p.sql).join(` ${filter.op} `)})`, bindings: parts.flatMap((p) => p.bindings) };
    }
    case 'not': {
      const inner = translate(filter.filter, scope);
      return { sql: `(not ${inner.sql})`, bindings: inner.bindings };
    }
    case '[]':
      return valuePath(filter, scope);
    case 'pr':
      return present(filter, scope);
    default:
      return compare(filter, scope);
  }
}

function valuePath(filter: ValuePath, scope: Scope): Sql {
  const multi = scope.multi(filter.attrPath);
  if (!multi) throw invalidFilter(`Value filters do not nest: "${filter.attrPath}[…]" is inside another.`);
  const inner: Scope = {
    dialect: scope.dialect,
    locate: (name) => {
      const scalar = multi.sub(name);
      if (!scalar) throw unknown(`${filter.attrPath}.${name}`);
      return { scalar, wrap: (c) => c };
    },
    multi: () => undefined,
  };
  const condition = translate(filter.valFilter, inner);
  return { sql: multi.exists(condition.sql), bindings: condition.bindings };
}

function present(filter: Suffix, scope: Scope): Sql {
  const { scalar, wrap } = scope.locate(filter.attrPath);
  const x = scalar.sql;
  const length = scope.dialect === 'sqlite' ? 'length' : 'char_length';
  const sql = scalar.type === 'string' ? `(${x} is not null and ${length}(${x}) > 0)` : `(${x} is not null)`;
  return { sql: wrap(sql), bindings: [] };
}

function compare(filter: Compare, scope: Scope): Sql {
  const { attrPath: path, op, compValue: value } = filter;
  if (value === null) throw invalidFilter(`"${path} ${op} null" is not supported: use "${path} pr" or "not (${path} pr)".`);
  const { scalar, wrap } = scope.locate(path);
  const atom = comparison(scalar, op === 'ne' ? 'eq' : op, value, path, scope.dialect);
  return { sql: wrap(op === 'ne' ? `(not ${atom.sql})` : atom.sql), bindings: atom.bindings };
}

type Op = Exclude<Compare['op'], 'ne'>;
type Value = Exclude<Compare['compValue'], null>;

function comparison(scalar: Scalar, op: Op, value: Value, path: string, dialect: Dialect): Sql {
  switch (scalar.type) {
    case 'string':
      if (scalar.numeric) return numericComparison(scalar, op, expect(value, 'string', path), dialect);
      return stringComparison(scalar, op, expect(value, 'string', path), dialect);
    case 'boolean':
      if (op !== 'eq') throw invalidFilter(`"${path}" is a boolean: only eq, ne and pr apply to it.`);
      return notNull(scalar.sql, `${scalar.sql} = ?`, [expect(value, 'boolean', path)]);
    case 'dateTime':
      return ordered(scalar, sqlOp(scalar, op, path), instant(value, path, dialect));
    default:
      return ordered(scalar, sqlOp(scalar, op, path), expect(value, 'number', path));
  }
}

function expect<T extends 'string' | 'boolean' | 'number'>(value: Value, type: T, path: string) {
  if (typeof value !== type) throw invalidFilter(`"${path}" is compared with ${JSON.stringify(value)}, which is not a ${type}.`);
  return value as { string: string; boolean: boolean; number: number }[T];
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** A dateTime compared as an instant; a time without a zone is read as UTC, whatever the server's zone. */
function instant(value: Value, path: string, dialect: Dialect): Date | number {
  const text = typeof value === 'string' ? value.toUpperCase() : '';
  const match = ISO_8601.exec(text);
  const time = match ? Date.parse(match[1] || !text.includes('T') ? text : `${text}Z`) : Number.NaN;
  if (Number.isNaN(time)) throw invalidFilter(`"${path}" is a dateTime: compare it with an ISO 8601 string, not ${JSON.stringify(value)}.`);
  // SQLite keeps timestamps as epoch milliseconds; MariaDB takes a Date in its own form.
  return dialect === 'sqlite' ? time : new Date(time);
}

const SQL_OPS: Record<string, string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };

function sqlOp(scalar: Scalar, op: Op, path: string): string {
  const sql = SQL_OPS[op];
  if (!sql) throw invalidFilter(`"${path}" is a ${scalar.type}: ${op} applies to strings only.`);
  return sql;
}

function ordered(scalar: Scalar, op: string, value: Knex.Value): Sql {
  return notNull(scalar.sql, `${scalar.sql} ${op} ?`, [value]);
}

function numericComparison(scalar: Scalar, op: Op, value: string, dialect: Dialect): Sql {
  if (op === 'eq' && /^(0|[1-9]\d{0,14})$/.test(value)) return notNull(scalar.sql, `${scalar.sql} = ?`, [Number(value)]);
  const text = `cast(${scalar.sql} as ${dialect === 'sqlite' ? 'text' : 'char'})`;
  return stringComparison({ ...scalar, sql: text, caseExact: true, binary: false }, op, value, dialect);
}

function notNull(x: string, condition: string, bindings: Knex.Value[]): Sql {
  return { sql: `(${x} is not null and ${condition})`, bindings };
}

/**
 * The string as compared: lowered (as JavaScript lowers) unless caseExact, and by code point. On
 * MariaDB a binary string, as utf8mb4_bin pads with spaces ('a' = 'a ', 'a\t' < 'a'); lengths
 * there are in bytes, which keeps prefixes and suffixes whole characters as both sides are UTF-8.
 */
function comparable(scalar: Scalar, dialect: Dialect): string {
  const x = `(${scalar.sql})`;
  if (dialect === 'mysql') return scalar.caseExact ? `cast(${x} as binary)` : `cast(lower${x} as binary)`;
  if (!scalar.caseExact) return `${UNICODE_LOWER}${x}`;
  // A column declared collate nocase would compare without case.
  return scalar.binary ? x : `${x} collate binary`;
}

function length(value: string, dialect: Dialect): number {
  return dialect === 'mysql' ? Buffer.byteLength(value) : [...value].length;
}

function stringComparison(scalar: Scalar, op: Op, written: string, dialect: Dialect): Sql {
  const x = scalar.sql;
  const value = scalar.caseExact ? written : written.toLowerCase();
  const e = comparable(scalar, dialect);
  if (value === '' && (op === 'co' || op === 'sw' || op === 'ew')) return { sql: `(${x} is not null)`, bindings: [] };
  const n = length(value, dialect);
  switch (op) {
    case 'co':
      return notNull(x, `instr(${e}, ?) > 0`, [value]);
    case 'sw':
      if (scalar.binary && scalar.caseExact) return startsWith(x, e, value, dialect);
      return notNull(x, dialect === 'mysql' ? `left(${e}, ?) = ?` : `substr(${e}, 1, ?) = ?`, [n, value]);
    case 'ew':
      return notNull(x, dialect === 'mysql' ? `right(${e}, ?) = ?` : `substr(${e}, ?) = ?`, [dialect === 'mysql' ? n : -n, value]);
    case 'eq':
      if (scalar.binary && scalar.caseExact && dialect === 'mysql') return notNull(x, `${x} = ? and ${e} = ?`, [value, value]);
      return notNull(x, `${e} = ?`, [value]);
    default:
      return notNull(x, `${e} ${SQL_OPS[op]} ?`, [value]);
  }
}

/**
 * sw as a range, which the column's index serves. On MariaDB the range is made wide enough for
 * utf8mb4_bin's padding (it puts 'a\t' before 'a') and the binary comparison decides.
 */
function startsWith(x: string, e: string, prefix: string, dialect: Dialect): Sql {
  const conditions: string[] = [];
  const bindings: Knex.Value[] = [];
  const low = dialect === 'mysql' ? paddedLowerBound(prefix) : prefix;
  if (low !== null) {
    conditions.push(`${x} >= ?`);
    bindings.push(low);
  }
  const end = prefixEnd(prefix);
  if (end !== null) {
    conditions.push(`${x} < ?`);
    bindings.push(end);
  }
  if (dialect === 'mysql') {
    conditions.push(`left(${e}, ?) = ?`);
    bindings.push(Buffer.byteLength(prefix), prefix);
  }
  return notNull(x, conditions.join(' and '), bindings);
}

/**
 * A string that sorts before every string starting with the prefix under a collation that pads
 * with spaces: the prefix cut before its last character above the space (the padding space then
 * sorts below that character). Null when there is none: no lower bound.
 */
function paddedLowerBound(prefix: string): string | null {
  const chars = [...prefix];
  for (let i = chars.length - 1; i >= 0; i--) if (chars[i] > ' ') return chars.slice(0, i).join('') || null;
  return null;
}
