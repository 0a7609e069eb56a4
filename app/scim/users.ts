import type { Knex } from 'knex';
import { hashPassword, passwordProblem } from '../auth/passwords.js';
import { type Db, isSqlite, prefixEnd, toDate, UNICODE_LOWER, type UserRow } from '../db.js';
import { lockSuperuserGroups } from '../directory/groups/groups.js';
import { readUserForm, type UserFormErrors, userFormValues } from '../directory/users/form.js';
import { DEFAULT_PATH } from '../directory/users/rules.js';
import { createUser, deleteUsers, type ExtraColumns, fieldsOf, toUser, type User, updateUser } from '../directory/users/users.js';
import { RuleError } from '../errors.js';
import { invalidValue, notFound, ScimError } from './errors.js';
import type { Resolver, Scalar } from './filter.js';
import { applyPatch, type PatchOp } from './patch.js';
import {
  checkVersion,
  filterWhere,
  idOf,
  type ListQuery,
  type Resource,
  type Scope,
  type Store,
  splitInput,
  withMeta,
} from './resource.js';
import { ENTERPRISE_SCHEMA, ROSTER_SCHEMA, USER_SCHEMA, USER_TYPE } from './schema.js';

/** The key of a user's attributes under which SCIM attributes without a column of their own are kept. */
export const SCIM_KEY = 'scim';
/** Attributes outside every schema, kept (not returned) under SCIM_KEY. */
export const UNKNOWN_KEY = 'unknown';

/** Core attributes kept in the attributes as given (RFC names). */
const KEPT = [
  'name',
  'nickName',
  'profileUrl',
  'title',
  'userType',
  'preferredLanguage',
  'locale',
  'timezone',
  'emails',
  'phoneNumbers',
  'addresses',
  'entitlements',
  'roles',
];
/** Attributes the server writes or that have a column: never kept in the attributes. */
const MAPPED = new Set(['schemas', 'id', 'externalId', 'meta', 'userName', 'displayName', 'active', 'password', 'groups']);

type Groups = Map<number, { id: number; name: string }[]>;

function extrasOf(user: Pick<User, 'attributes'>): { own: Record<string, unknown>; scim: Record<string, unknown> } {
  const { [SCIM_KEY]: scim, ...own } = user.attributes;
  return { own, scim: scim && typeof scim === 'object' && !Array.isArray(scim) ? (scim as Record<string, unknown>) : {} };
}

/** The e-mails as kept, with the primary one (first) being the user's e-mail as Roster has it now. */
function emailsOf(user: User, kept: unknown): Resource[] | undefined {
  const list = Array.isArray(kept) ? (kept as Resource[]).map((e) => ({ ...e })) : [];
  if (!list.length) return user.email ? [{ value: user.email, primary: true }] : undefined;
  if (user.email) list[0].value = user.email;
  else list.shift();
  return list.length ? list : undefined;
}

export function userResource(user: User, groups: { id: number; name: string }[] | undefined, scope: Scope): Resource {
  const { scim } = extrasOf(user);
  const out: Resource = { schemas: [USER_SCHEMA], id: String(user.id) };
  if (user.externalId) out.externalId = user.externalId;
  out.userName = user.username;
  for (const key of KEPT) if (scim[key] !== undefined && key !== 'emails') out[key] = scim[key];
  if (user.name) out.displayName = user.name;
  out.active = user.isActive;
  const emails = emailsOf(user, scim.emails);
  if (emails) out.emails = emails;
  if (groups)
    out.groups = groups.map((g) => ({ value: String(g.id), $ref: `${scope.base}/Groups/${g.id}`, display: g.name, type: 'direct' }));
  if (scim[ENTERPRISE_SCHEMA]) {
    out[ENTERPRISE_SCHEMA] = scim[ENTERPRISE_SCHEMA];
    (out.schemas as string[]).push(ENTERPRISE_SCHEMA);
  }
  const validUntil = user.validUntil;
  out[ROSTER_SCHEMA] = { path: user.path, type: user.type, ...(validUntil ? { validUntil: validUntil.toISOString() } : {}) };
  (out.schemas as string[]).push(ROSTER_SCHEMA);
  return withMeta(out, {
    resourceType: 'User',
    created: user.dateJoined,
    lastModified: user.lastUpdated,
    location: `${scope.base}/Users/${user.id}`,
  });
}

/** Whether a folder is the scope's folder or below it. */
function inScope(scope: Scope, path: string): boolean {
  return scope.path === null || path === scope.path || path.startsWith(`${scope.path}/`);
}

export function whereInScope(query: Knex.QueryBuilder, scope: Scope, column = 'users.path'): void {
  if (scope.path === null) return;
  const below = `${scope.path}/`;
  const end = prefixEnd(below)!;
  query.where((q) => q.where(column, scope.path!).orWhere((r) => r.where(column, '>=', below).where(column, '<', end)));
}

const FORM_FIELDS: Record<keyof UserFormErrors, string> = {
  username: 'userName',
  name: 'displayName',
  email: 'emails',
  path: `${ROSTER_SCHEMA}:path`,
  type: `${ROSTER_SCHEMA}:type`,
  valid_until: `${ROSTER_SCHEMA}:validUntil`,
  attributes: 'the attributes kept (at most 64 KB in all)',
  is_active: 'active',
};

/**
 * A SCIM User (as patch.ts left it: canonical names, types checked) as the form fields of Roster's
 * web form, checked by the same rules, plus what has no form field. `before`: the user it replaces.
 */
async function readUser(input: Resource, before: User | undefined, scope: Scope, rounds: number) {
  const { own, scim: keptBefore } = before ? extrasOf(before) : { own: {}, scim: {} };
  // Roster's extension absent (as from every provisioning client's PUT): its fields stay as they are.
  const roster = (input[ROSTER_SCHEMA]
    ?? (before ? { path: before.path, type: before.type, validUntil: before.validUntil?.toISOString() } : {})) as Record<string, unknown>;
  const name = (input.name ?? {}) as Record<string, unknown>;
  const emails = Array.isArray(input.emails) ? [...(input.emails as Resource[])] : [];
  const primary = Math.max(
    0,
    emails.findIndex((e) => e.primary === true),
  );
  if (emails.length) emails.unshift(...emails.splice(primary, 1));
  const path = (roster.path as string | undefined) ?? before?.path ?? scope.path ?? DEFAULT_PATH;
  if (!inScope(scope, path)) throw invalidValue(`${ROSTER_SCHEMA}:path: this token writes only in the folder ${scope.path} and below.`);
  const scim: Record<string, unknown> = {};
  for (const key of KEPT) if (input[key] !== undefined) scim[key] = key === 'emails' ? emails : input[key];
  if (input[ENTERPRISE_SCHEMA]) scim[ENTERPRISE_SCHEMA] = input[ENTERPRISE_SCHEMA];
  const unknown = Object.fromEntries(
    Object.entries(input).filter(([key]) => !MAPPED.has(key) && !KEPT.includes(key) && !key.startsWith('urn:')),
  );
  const unknownBefore = keptBefore[UNKNOWN_KEY] as Record<string, unknown> | undefined;
  if (Object.keys(unknown).length || unknownBefore) scim[UNKNOWN_KEY] = { ...unknownBefore, ...unknown };
  const displayName =
    (input.displayName as string | undefined)
    ?? (name.formatted as string | undefined)
    ?? [name.givenName, name.familyName].filter((part) => typeof part === 'string' && part).join(' ');
  const body = {
    username: input.userName === undefined ? '' : String(input.userName),
    name: displayName,
    email: emails.length ? String(emails[0].value ?? '') : '',
    path,
    type: (roster.type as string | undefined) ?? before?.type ?? 'internal',
    valid_until: (roster.validUntil as string | undefined) ?? '',
    attributes: JSON.stringify({ ...own, [SCIM_KEY]: scim }),
    is_active: String(input.active ?? true),
  };
  const form = readUserForm(body, before ? userFormValues(fieldsOf(before)) : undefined);
  if (!form.fields) {
    const [field, message] = Object.entries(form.errors)[0] as [keyof UserFormErrors, string];
    throw invalidValue(`${FORM_FIELDS[field]}: ${message}.`);
  }
  const extra: ExtraColumns = { external_id: typeof input.externalId === 'string' ? input.externalId : null };
  if (typeof input.password === 'string') {
    const problem = passwordProblem(input.password, form.fields.username);
    if (problem) throw invalidValue(`password: ${problem}.`);
    extra.password = await hashPassword(input.password, rounds);
  }
  if (extra.external_id && extra.external_id.length > 255) throw invalidValue('externalId: use at most 255 characters.');
  return { fields: form.fields, extra };
}

const TAKEN = () => new ScimError(409, 'uniqueness', 'userName: another user has this userName (usernames are unique across all folders).');

function jsonText(db: Db, path: string[]): string {
  const json = `'$${path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `."${p}"`)).join('')}'`;
  return isSqlite(db) ? `json_extract(users.attributes, ${json})` : `json_unquote(json_extract(users.attributes, ${json}))`;
}

/** How each filterable attribute of a User is found in SQL. */
function userResolver(db: Db): Resolver {
  const text = (sql: string, caseExact = false, binary = false): Scalar => ({ kind: 'scalar', sql, type: 'string', caseExact, binary });
  const kept = (...path: string[]) => text(jsonText(db, [SCIM_KEY, ...path]));
  const columns: Record<string, Scalar> = {
    id: { kind: 'scalar', sql: 'users.id', type: 'string', caseExact: true, binary: true, numeric: true },
    externalid: text('users.external_id', true, true),
    username: text('users.username', true, true),
    // No name and no e-mail are kept as '' (the web form's empty field): for filters, absent.
    displayname: text("nullif(users.name, '')"),
    active: { kind: 'scalar', sql: 'users.is_active', type: 'boolean', caseExact: true },
    'meta.created': { kind: 'scalar', sql: 'users.date_joined', type: 'dateTime', caseExact: true },
    'meta.lastmodified': { kind: 'scalar', sql: 'users.last_updated', type: 'dateTime', caseExact: true },
    [`${ROSTER_SCHEMA}:path`.toLowerCase()]: text('users.path', true, true),
    [`${ROSTER_SCHEMA}:type`.toLowerCase()]: text('users.type', true),
    [`${ROSTER_SCHEMA}:validuntil`.toLowerCase()]: { kind: 'scalar', sql: 'users.valid_until', type: 'dateTime', caseExact: true },
  };
  for (const sub of ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'])
    columns[`name.${sub}`.toLowerCase()] = kept('name', sub);
  for (const key of ['nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone'])
    columns[key.toLowerCase()] = kept(key);
  for (const key of ['employeeNumber', 'costCenter', 'organization', 'division', 'department'])
    columns[`${ENTERPRISE_SCHEMA}:${key}`.toLowerCase()] = kept(ENTERPRISE_SCHEMA, key);
  columns[`${ENTERPRISE_SCHEMA}:manager.value`.toLowerCase()] = kept(ENTERPRISE_SCHEMA, 'manager', 'value');
  const emails: Record<string, Scalar> = {
    value: text("nullif(users.email, '')"),
    type: kept('emails', '0', 'type'),
    display: kept('emails', '0', 'display'),
  };
  const groups: Record<string, Scalar> = {
    value: { kind: 'scalar', sql: 'gm.group_id', type: 'string', caseExact: true, binary: true, numeric: true },
    display: text('g.name'),
  };
  return (path: string) => {
    const key = path.toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:user:/, '');
    if (key === 'emails')
      return {
        kind: 'multi',
        // The one address Roster keeps, when there is one: a user without e-mail has no emails to match.
        exists: (condition: string) => `(users.email <> '' and (${condition}))`,
        sub: (name: string) => emails[name.toLowerCase()],
      };
    if (key === 'groups')
      return {
        kind: 'multi',
        exists: (condition: string) =>
          `exists (select 1 from group_memberships gm join ${'`groups`'} g on g.id = gm.group_id where gm.user_id = users.id and (${condition}))`,
        sub: (name: string) => groups[name.toLowerCase()],
      };
    return columns[key];
  };
}

/**
 * What a list sorts by, the same on both databases: names by their folded key (the list's own
 * order), e-mails lower-cased and compared as bytes, the rest by their exact values.
 */
function sortColumn(db: Db, key: string): string | undefined {
  const email = isSqlite(db) ? `${UNICODE_LOWER}(users.email)` : 'cast(lower(users.email) as binary)';
  const columns: Record<string, string> = {
    id: 'users.id',
    externalid: 'users.external_id',
    username: 'users.username',
    displayname: 'users.name_key',
    'meta.created': 'users.date_joined',
    'meta.lastmodified': 'users.last_updated',
    emails: email,
    'emails.value': email,
  };
  return Object.hasOwn(columns, key) ? columns[key] : undefined;
}

async function groupsOf(db: Db, ids: number[]): Promise<Groups> {
  const rows: { user_id: number; id: number; name: string }[] = ids.length
    ? await db('group_memberships')
        .join('groups', 'groups.id', 'group_memberships.group_id')
        .whereIn('group_memberships.user_id', ids)
        .orderBy('groups.name')
        .select('group_memberships.user_id', 'groups.id', 'groups.name')
    : [];
  const out: Groups = new Map(ids.map((id) => [id, []]));
  for (const row of rows) out.get(row.user_id)!.push({ id: row.id, name: row.name });
  return out;
}

function scoped(db: Db, scope: Scope): Knex.QueryBuilder {
  const query = db('users');
  whereInScope(query, scope);
  return query;
}

async function loadRow(db: Db, scope: Scope, id: string, lock = false): Promise<User> {
  const key = idOf(id);
  const query = scoped(db, scope).where('users.id', key ?? 0);
  if (lock) query.forUpdate();
  const row: UserRow | undefined = key === undefined ? undefined : await query.first('users.*');
  if (!row) throw notFound(`There is no user ${id}${scope.path ? ' in this token’s folder' : ''}.`);
  return toUser(row);
}

async function present(db: Db, scope: Scope, user: User): Promise<Resource> {
  return userResource(user, (await groupsOf(db, [user.id])).get(user.id), scope);
}

export function userStore(config: { bcryptRounds: number; deleteUserEvents: boolean }): Store {
  const resolvers = new WeakMap<object, Resolver>();
  const resolverOf = (db: Db) => {
    const key = db.client.config as object;
    let resolver = resolvers.get(key);
    if (!resolver) {
      resolver = userResolver(db);
      resolvers.set(key, resolver);
    }
    return resolver;
  };

  /**
   * PUT and PATCH: the version is checked and the change made in one transaction, on the user's row
   * locked. The superuser groups are locked first, as every change that may deactivate someone
   * locks them first: two writers never wait for each other in opposite orders.
   */
  async function save(db: Db, scope: Scope, id: string, next: (current: Resource) => Resource, ifMatch?: string): Promise<Resource> {
    await db.transaction(async (trx) => {
      await lockSuperuserGroups(trx);
      const before = await loadRow(trx, scope, id, true);
      const current = await present(trx, scope, before);
      checkVersion(current, ifMatch);
      const { fields, extra } = await readUser(next(current), before, scope, config.bcryptRounds);
      const saved = await updateUser(trx, before, fields, scope.actor, extra);
      if (!saved.ok) throw saved.field === 'username' ? TAKEN() : invalidValue(`active: ${saved.message}.`);
    });
    return present(db, scope, await loadRow(db, scope, id));
  }

  return {
    type: USER_TYPE,

    async list(db, scope, query: ListQuery) {
      const resolver = resolverOf(db);
      const where = filterWhere(query.filter, resolver, isSqlite(db) ? 'sqlite' : 'mysql');
      const base = scoped(db, scope);
      if (where) base.whereRaw(where.sql, where.bindings);
      const sortKey = query.sortBy?.toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:user:/, '');
      const column = sortKey === undefined ? undefined : sortColumn(db, sortKey);
      if (sortKey !== undefined && !column)
        throw invalidValue(
          'sortBy: Roster sorts Users by id, externalId, userName, displayName, emails or meta.created / meta.lastModified.',
        );
      const [{ n }] = await base.clone().count({ n: '*' });
      const total = Number(n);
      if (!query.count || query.startIndex > total) return { total, resources: [] };
      const page = base.clone().select('users.*');
      if (column) page.orderByRaw(`${column} ${query.descending ? 'desc' : 'asc'}`);
      const rows: UserRow[] = await page
        .orderBy('users.id', query.descending ? 'desc' : 'asc')
        .offset(query.startIndex - 1)
        .limit(query.count);
      const groups = query.wants('groups')
        ? await groupsOf(
            db,
            rows.map((r) => r.id),
          )
        : undefined;
      return { total, resources: rows.map((row) => userResource(toUser(row), groups?.get(row.id), scope)) };
    },

    async get(db, scope, id) {
      return present(db, scope, await loadRow(db, scope, id));
    },

    async create(db, scope, input) {
      const { fields, extra } = await readUser(fromInput(input), undefined, scope, config.bcryptRounds);
      const saved = await createUser(db, fields, scope.actor, { ...extra, provisioned_by: scope.tokenId });
      if (!saved.ok) throw TAKEN();
      return userResource(saved.user, [], scope); // a new user is in no group
    },

    replace(db, scope, id, input, ifMatch) {
      return save(db, scope, id, () => fromInput(input), ifMatch);
    },

    patch(db, scope, id, ops: PatchOp[], ifMatch) {
      return save(db, scope, id, (current) => applyPatch(USER_TYPE, current, ops), ifMatch);
    },

    async remove(db, scope, id, ifMatch) {
      try {
        await db.transaction(async (trx) => {
          await lockSuperuserGroups(trx);
          const row = await loadRow(trx, scope, id, true);
          checkVersion(await present(trx, scope, row), ifMatch);
          await deleteUsers(trx, [row], scope.actor, { deleteEvents: config.deleteUserEvents });
        });
      } catch (err) {
        if (err instanceof RuleError) throw new ScimError(400, undefined, err.message);
        throw err;
      }
    },
  };
}

/** A POST or PUT body as a resource: the known attributes checked and named as the schemas name them, the rest kept. */
function fromInput(input: Resource): Resource {
  const { known, unknown } = splitInput(USER_TYPE, input);
  return { ...unknown, ...applyPatch(USER_TYPE, {}, [{ op: 'add', value: known }]) };
}
