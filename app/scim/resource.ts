import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../db.js';
import type { Actor } from '../events/events.js';
import { invalidSyntax, invalidValue, ScimError } from './errors.js';
import { type Filter, filterSql, parseFilter, type Resolver } from './filter.js';
import type { PatchOp } from './patch.js';
import { type AttrDef, COMMON, type ResourceType, resolvePath } from './schema.js';

export type Resource = Record<string, unknown>;

/** Who asks: a SCIM token, the folder it is bound to (null: everywhere), its owner as the actor. */
export interface Scope {
  tokenId: number;
  path: string | null;
  actor: Actor;
  /** Where resources live, for meta.location and $ref: PUBLIC_URL/scim/v2. */
  base: string;
}

export interface ListQuery {
  filter?: Filter;
  sortBy?: string;
  descending: boolean;
  /** 1-based, as SCIM counts. */
  startIndex: number;
  count: number;
  /** Whether the page's resources are shown with their multi-valued references (a user's groups). */
  wants: (attribute: string) => boolean;
}

/** What a resource type's store does: Users and Groups answer the same routes and Bulk operations. */
export interface Store {
  type: ResourceType;
  list(db: Db, scope: Scope, query: ListQuery): Promise<{ total: number; resources: Resource[] }>;
  get(db: Db, scope: Scope, id: string): Promise<Resource>;
  create(db: Db, scope: Scope, input: Resource): Promise<Resource>;
  replace(db: Db, scope: Scope, id: string, input: Resource, ifMatch?: string): Promise<Resource>;
  patch(db: Db, scope: Scope, id: string, ops: PatchOp[], ifMatch?: string): Promise<Resource>;
  remove(db: Db, scope: Scope, id: string, ifMatch?: string): Promise<void>;
}

/**
 * A POST or PUT body split into what the type's schemas know — without what only the server writes,
 * which RFC 7644 §3.3 says to ignore (id, meta, a user's groups, a member's display) — and what they
 * do not know, which is kept aside.
 */
export function splitInput(type: ResourceType, input: Resource): { known: Resource; unknown: Resource } {
  const known: Resource = {};
  const unknown: Resource = {};
  const extensions = new Map(type.extensions.map((e) => [e.id.toLowerCase(), e]));
  for (const [key, value] of Object.entries(input)) {
    if (key === 'schemas') continue;
    const extension = extensions.get(key.toLowerCase());
    if (extension) {
      if (value && typeof value === 'object' && !Array.isArray(value))
        known[extension.id] = withoutReadOnly(extension.attributes, value as Resource);
      else known[key] = value; // patch.ts refuses it with a message
      continue;
    }
    const found = resolvePath(type, key);
    if (!found || found.sub) unknown[key] = value;
    else if (found.attr.mutability !== 'readOnly') known[key] = withoutReadOnly([found.attr], { [key]: value })[key];
  }
  return { known, unknown };
}

function withoutReadOnly(defs: AttrDef[], object: Resource): Resource {
  const out: Resource = {};
  for (const [key, value] of Object.entries(object)) {
    const def = defs.find((d) => d.name.toLowerCase() === key.toLowerCase());
    if (def?.mutability === 'readOnly') continue;
    const subs = def?.subAttributes;
    const strip = (item: unknown) =>
      subs && item && typeof item === 'object' && !Array.isArray(item)
        ? Object.fromEntries(
            Object.entries(item).filter(([k]) => subs.find((s) => s.name.toLowerCase() === k.toLowerCase())?.mutability !== 'readOnly'),
          )
        : item;
    out[key] = Array.isArray(value) ? value.map(strip) : strip(value);
  }
  return out;
}

/** A resource's version: a hash of what it says (meta aside), so any change to it gives a new one. */
export function versionOf(resource: Resource): string {
  const { meta: _meta, ...rest } = resource;
  return `W/"${createHash('sha256').update(JSON.stringify(rest)).digest('base64url').slice(0, 22)}"`;
}

export function withMeta(
  resource: Resource,
  meta: { resourceType: string; created: Date; lastModified: Date; location: string },
): Resource {
  const out: Resource = { ...resource, meta: {} };
  out.meta = {
    resourceType: meta.resourceType,
    created: meta.created.toISOString(),
    lastModified: meta.lastModified.toISOString(),
    location: meta.location,
    version: versionOf(out),
  };
  return out;
}

/**
 * If-Match (RFC 7644 §3.14): the request goes on only when the resource is at one of the versions
 * named (or `*`). A weak and a strong tag of the same value match: versions are weak tags.
 */
export function checkVersion(resource: Resource, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  const current = (resource.meta as { version: string }).version;
  const wanted = ifMatch.split(',').map((tag) => tag.trim().replace(/^W\//i, ''));
  if (wanted.includes('*') || wanted.includes(current.replace(/^W\//, ''))) return;
  throw new ScimError(412, undefined, `The resource has changed: its version is now ${current}.`);
}

/** A numeric id as SCIM writes it, or undefined for anything else (a 404, never a 500). */
export function idOf(text: string): number | undefined {
  return /^[1-9]\d{0,9}$/.test(text) && Number(text) <= 2_147_483_647 ? Number(text) : undefined;
}

/** The SQL condition of a filter for a store, parsed once. */
export function filterWhere(filter: Filter | undefined, resolve: Resolver, dialect: 'sqlite' | 'mysql') {
  return filter ? (filterSql(filter, resolve, dialect) as { sql: string; bindings: Knex.RawBinding[] }) : undefined;
}

export { parseFilter };

const PAGE_MAX = 1000;

function whole(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const text = String(value).trim();
  if (!/^-?\d{1,15}$/.test(text)) throw invalidValue(`${name} must be a whole number.`);
  return Number(text);
}

/** The list parameters of a GET's query or a .search body (RFC 7644 §3.4.2–3.4.3). */
export function readListQuery(params: Record<string, unknown>): {
  filter?: Filter;
  sortBy?: string;
  descending: boolean;
  startIndex: number;
  count: number;
  attributes: string[];
  excludedAttributes: string[];
} {
  const filterText = params.filter;
  if (filterText !== undefined && typeof filterText !== 'string') throw invalidValue('filter must be a string.');
  const sortBy = params.sortBy;
  if (sortBy !== undefined && typeof sortBy !== 'string') throw invalidValue('sortBy must be a string.');
  const order = params.sortOrder === undefined ? 'ascending' : String(params.sortOrder);
  if (order !== 'ascending' && order !== 'descending') throw invalidValue('sortOrder must be ascending or descending.');
  return {
    filter: filterText ? parseFilter(filterText) : undefined,
    sortBy: sortBy || undefined,
    descending: order === 'descending',
    startIndex: Math.max(1, whole(params.startIndex, 'startIndex', 1)),
    // RFC 7644 §3.4.2.4: a negative count is 0; more than the maximum gets the maximum.
    count: Math.min(PAGE_MAX, Math.max(0, whole(params.count, 'count', 100))),
    attributes: names(params.attributes, 'attributes'),
    excludedAttributes: names(params.excludedAttributes, 'excludedAttributes'),
  };
}

function names(value: unknown, name: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  const list = Array.isArray(value) ? value : String(value).split(',');
  if (list.some((item) => typeof item !== 'string')) throw invalidValue(`${name} must be a list of attribute names.`);
  return (list as string[]).map((item) => item.trim()).filter(Boolean);
}

export const MAX_RESULTS = PAGE_MAX;

/**
 * Attribute selection (RFC 7644 §3.4.2.5): with `attributes`, only those (and what is always
 * returned); with `excludedAttributes`, all but those (never what is always returned). Unknown
 * names select nothing, as the RFC allows.
 */
export function project(type: ResourceType, resource: Resource, attributes: string[], excluded: string[]): Resource {
  if (!attributes.length && !excluded.length) return resource;
  const keep = (schema: string, top: AttrDef, sub?: AttrDef): boolean => {
    const always = top.returned === 'always' || top.name === 'id';
    const paths = (list: string[]) => list.map((p) => resolvePath(type, p)).filter((r) => r !== undefined);
    if (attributes.length) {
      if (always) return true;
      return paths(attributes).some((r) => r.schema === schema && r.attr.name === top.name && (!r.sub || !sub || r.sub.name === sub.name));
    }
    if (always) return true;
    return !paths(excluded).some((r) => r.schema === schema && r.attr.name === top.name && (!r.sub || (sub && r.sub.name === sub.name)));
  };
  const out: Resource = { schemas: resource.schemas };
  const copy = (schema: string, defs: AttrDef[], from: Resource, to: Resource) => {
    for (const def of defs) {
      const value = from[def.name];
      if (value === undefined) continue;
      if (!def.subAttributes || !attributesNameSubs(attributes, excluded, type, schema, def)) {
        if (keep(schema, def)) to[def.name] = value;
        continue;
      }
      const pick = (item: Resource) =>
        Object.fromEntries(Object.entries(item).filter(([key]) => def.subAttributes!.some((s) => s.name === key && keep(schema, def, s))));
      const picked = Array.isArray(value) ? value.map((item) => pick(item as Resource)) : pick(value as Resource);
      if (Array.isArray(picked) ? picked.some((item) => Object.keys(item).length) : Object.keys(picked).length) to[def.name] = picked;
    }
  };
  copy(type.core.id, [...COMMON, ...type.core.attributes], resource, out);
  for (const extension of type.extensions) {
    const part = resource[extension.id] as Resource | undefined;
    if (!part) continue;
    const kept: Resource = {};
    copy(extension.id, extension.attributes, part, kept);
    if (Object.keys(kept).length) out[extension.id] = kept;
  }
  return out;
}

/** Whether the selection names sub-attributes of this attribute (then it is filtered item by item). */
function attributesNameSubs(attributes: string[], excluded: string[], type: ResourceType, schema: string, def: AttrDef): boolean {
  return [...attributes, ...excluded].some((p) => {
    const r = resolvePath(type, p);
    return r?.schema === schema && r.attr.name === def.name && r.sub !== undefined;
  });
}

/** A POST or PUT body must say it is of the resource's schema, and name no schema Roster lacks. */
export function resourceBody(type: ResourceType, body: unknown): Resource {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidSyntax('The body must be a JSON object.');
  const schemas = (body as Resource).schemas;
  const known = [type.core.id, ...type.extensions.map((e) => e.id)].map((s) => s.toLowerCase());
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === type.core.id.toLowerCase()))
    throw invalidValue(`schemas must list ${type.core.id}.`);
  const unknown = schemas.find((s) => typeof s !== 'string' || !known.includes(s.toLowerCase()));
  if (unknown !== undefined) throw invalidValue(`schemas: Roster does not support ${JSON.stringify(unknown)} on ${type.name}.`);
  return body as Resource;
}
