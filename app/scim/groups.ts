import type { Knex } from 'knex';
import { type Db, type GroupRow, isSqlite, toDate } from '../db.js';
import { readGroupForm } from '../directory/groups/form.js';
import { createGroup, deleteGroups, toGroup, updateGroup } from '../directory/groups/groups.js';
import { addToGroup, removeFromGroup, SKIPPED } from '../directory/users/bulk/writes.js';
import { RuleError } from '../errors.js';
import { invalidValue, notFound, ScimError } from './errors.js';
import type { Resolver, Scalar } from './filter.js';
import { applyPatch, itemMatches, type PatchOp, parsePath } from './patch.js';
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
import { GROUP, GROUP_SCHEMA, GROUP_TYPE } from './schema.js';
import { SCIM_KEY, UNKNOWN_KEY, whereInScope } from './users.js';

type Member = { id: number; username: string };

export function groupResource(row: GroupRow, members: Member[] | undefined, scope: Scope): Resource {
  const out: Resource = { schemas: [GROUP_SCHEMA], id: String(row.id) };
  if (row.external_id) out.externalId = row.external_id;
  out.displayName = row.name;
  if (members)
    out.members = members.map((m) => ({ value: String(m.id), $ref: `${scope.base}/Users/${m.id}`, display: m.username, type: 'User' }));
  return withMeta(out, {
    resourceType: 'Group',
    created: toDate(row.created)!,
    lastModified: toDate(row.last_updated)!,
    location: `${scope.base}/Groups/${row.id}`,
  });
}

/** A folder-bound token sees the groups it provisioned, and of their members those in its folder. */
function scoped(db: Db, scope: Scope): Knex.QueryBuilder {
  const query = db('groups');
  if (scope.path !== null) query.where('groups.provisioned_by', scope.tokenId);
  return query;
}

async function membersOf(db: Db, scope: Scope, groupIds: number[]): Promise<Map<number, Member[]>> {
  const query = db('group_memberships')
    .join('users', 'users.id', 'group_memberships.user_id')
    .whereIn('group_memberships.group_id', groupIds)
    .orderBy('users.id')
    .select('group_memberships.group_id', 'users.id', 'users.username');
  whereInScope(query, scope);
  const rows: (Member & { group_id: number })[] = groupIds.length ? await query : [];
  const out = new Map(groupIds.map((id) => [id, [] as Member[]]));
  for (const row of rows) out.get(row.group_id)!.push({ id: row.id, username: row.username });
  return out;
}

async function loadRow(db: Db, scope: Scope, id: string, lock = false): Promise<GroupRow> {
  const key = idOf(id);
  const query = scoped(db, scope).where('groups.id', key ?? 0);
  if (lock) query.forUpdate();
  const row: GroupRow | undefined = key === undefined ? undefined : await query.first('groups.*');
  if (!row) throw notFound(`There is no group ${id}${scope.path ? ' provisioned by this token' : ''}.`);
  return row;
}

async function present(db: Db, scope: Scope, row: GroupRow): Promise<Resource> {
  return groupResource(row, (await membersOf(db, scope, [row.id])).get(row.id), scope);
}

function groupResolver(): Resolver {
  const text = (sql: string, caseExact = false, binary = false): Scalar => ({ kind: 'scalar', sql, type: 'string', caseExact, binary });
  const columns: Record<string, Scalar> = {
    id: { kind: 'scalar', sql: 'groups.id', type: 'string', caseExact: true, binary: true, numeric: true },
    externalid: text('groups.external_id', true, true),
    displayname: text('groups.name', true, true),
    'meta.created': { kind: 'scalar', sql: 'groups.created', type: 'dateTime', caseExact: true },
    'meta.lastmodified': { kind: 'scalar', sql: 'groups.last_updated', type: 'dateTime', caseExact: true },
  };
  const members: Record<string, Scalar> = {
    value: { kind: 'scalar', sql: 'gm.user_id', type: 'string', caseExact: true, binary: true, numeric: true },
    display: text('mu.username'), // caseExact false, as the schema says of a member's display
  };
  return (path: string) => {
    const key = path.toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:group:/, '');
    if (key === 'members')
      return {
        kind: 'multi',
        exists: (condition: string) =>
          `exists (select 1 from group_memberships gm join users mu on mu.id = gm.user_id where gm.group_id = ${'`groups`'}.id and (${condition}))`,
        sub: (name: string) => members[name.toLowerCase()],
      };
    return columns[key];
  };
}

const SORTABLE: Record<string, string> = {
  id: 'groups.id',
  externalid: 'groups.external_id',
  displayname: 'groups.name',
  'meta.created': 'groups.created',
  'meta.lastmodified': 'groups.last_updated',
};

/** The user ids a members value names, each one a user this token may see; else 400. */
async function memberIds(db: Db, scope: Scope, value: unknown): Promise<number[]> {
  const list = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  const ids = list.map((item) => {
    const text = item && typeof item === 'object' ? (item as Resource).value : undefined;
    const id = typeof text === 'string' ? idOf(text) : undefined;
    if (id === undefined)
      throw invalidValue(`members: each member needs a value, the id of a User (got ${JSON.stringify(item)?.slice(0, 80)}).`);
    return id;
  });
  const unique = [...new Set(ids)];
  const found = new Set<number>();
  for (let i = 0; i < unique.length; i += 1000) {
    const query = db('users').whereIn('users.id', unique.slice(i, i + 1000));
    whereInScope(query, scope);
    for (const id of await query.pluck('users.id')) found.add(Number(id));
  }
  const missing = unique.filter((id) => !found.has(id));
  if (missing.length)
    throw invalidValue(`members: there is no user ${missing.slice(0, 5).join(', ')}${scope.path ? ' in this token’s folder' : ''}.`);
  return unique;
}

function groupFields(resource: Resource, before?: GroupRow) {
  const kept = before ? (JSON.parse(before.attributes || '{}') as Record<string, unknown>) : {};
  const unknown = Object.fromEntries(
    Object.entries(resource).filter(([key]) => !['schemas', 'id', 'externalId', 'meta', 'displayName', 'members'].includes(key)),
  );
  const attributes = { ...kept, ...(Object.keys(unknown).length ? { [SCIM_KEY]: { [UNKNOWN_KEY]: unknown } } : {}) };
  const form = readGroupForm(
    { name: resource.displayName === undefined ? '' : String(resource.displayName), attributes: JSON.stringify(attributes) },
    { name: '', is_superuser: Boolean(before?.is_superuser), attributes: '{}' },
  );
  if (!form.fields) {
    const [field, message] = Object.entries(form.errors)[0];
    throw invalidValue(`${field === 'name' ? 'displayName' : 'the attributes kept'}: ${message}.`);
  }
  const externalId = typeof resource.externalId === 'string' ? resource.externalId : null;
  if (externalId && externalId.length > 255) throw invalidValue('externalId: use at most 255 characters.');
  return { fields: form.fields, externalId };
}

const TAKEN = () => new ScimError(409, 'uniqueness', 'displayName: a group with this name exists already.');

/** Applies member changes as SQL, refusing what would remove the last administrator or the caller. */
async function changeMembers(trx: Db, scope: Scope, group: GroupRow, add: number[], remove: number[]): Promise<void> {
  const ref = { id: group.id, name: group.name };
  if (remove.length) {
    const outcomes = await removeFromGroup(trx, remove, ref, scope.actor);
    const refused = outcomes.find((o) => o.skipped && o.skipped !== SKIPPED.notMember && o.skipped !== SKIPPED.gone);
    if (refused) throw new ScimError(400, 'mutability', `members: user ${refused.id} stays in the group: ${refused.skipped}.`);
  }
  if (add.length) await addToGroup(trx, add, ref, scope.actor);
  if (add.length || remove.length) await trx('groups').where({ id: group.id }).update({ last_updated: new Date() });
}

export function groupStore(): Store {
  const resolver = groupResolver();

  async function write(
    db: Db,
    scope: Scope,
    id: string,
    ifMatch: string | undefined,
    change: (trx: Db, row: GroupRow, current: Resource) => Promise<void>,
  ) {
    try {
      await db.transaction(async (trx) => {
        const row = await loadRow(trx, scope, id, true);
        const current = await present(trx, scope, row);
        checkVersion(current, ifMatch);
        await change(trx, row, current);
      });
    } catch (err) {
      if (err instanceof RuleError) throw new ScimError(400, 'mutability', err.message);
      throw err;
    }
    return present(db, scope, await loadRow(db, scope, id));
  }

  async function saveGroup(trx: Db, scope: Scope, row: GroupRow, resource: Resource) {
    const { fields, externalId } = groupFields(resource, row);
    const saved = await updateGroup(trx, toGroup(row), fields, scope.actor, { externalId });
    if (!saved.ok) throw TAKEN();
  }

  return {
    type: GROUP_TYPE,

    async list(db, scope, query: ListQuery) {
      const where = filterWhere(query.filter, resolver, isSqlite(db) ? 'sqlite' : 'mysql');
      const base = scoped(db, scope);
      if (where) base.whereRaw(where.sql, where.bindings);
      const [{ n }] = await base.clone().count({ n: '*' });
      const total = Number(n);
      if (!query.count || query.startIndex > total) return { total, resources: [] };
      const page = base.clone().select('groups.*');
      const sortKey = query.sortBy?.toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:group:/, '');
      if (sortKey !== undefined) {
        if (!SORTABLE[sortKey])
          throw invalidValue('sortBy: Roster sorts Groups by id, externalId, displayName or meta.created / meta.lastModified.');
        page.orderBy(SORTABLE[sortKey], query.descending ? 'desc' : 'asc');
      }
      const rows: GroupRow[] = await page
        .orderBy('groups.id')
        .offset(query.startIndex - 1)
        .limit(query.count);
      const members = query.wants('members')
        ? await membersOf(
            db,
            scope,
            rows.map((r) => r.id),
          )
        : undefined;
      return { total, resources: rows.map((row) => groupResource(row, members?.get(row.id), scope)) };
    },

    async get(db, scope, id) {
      return present(db, scope, await loadRow(db, scope, id));
    },

    async create(db, scope, input) {
      const resource = fromInput(input);
      const { fields, externalId } = groupFields(resource);
      const id = await db.transaction(async (trx) => {
        const add = await memberIds(trx, scope, resource.members);
        const saved = await createGroup(trx, fields, scope.actor);
        if (!saved.ok) throw TAKEN();
        await trx('groups').where({ id: saved.group.id }).update({ external_id: externalId, provisioned_by: scope.tokenId });
        if (add.length) await addToGroup(trx, add, saved.group, scope.actor);
        return saved.group.id;
      });
      return present(db, scope, await loadRow(db, scope, String(id)));
    },

    replace(db, scope, id, input, ifMatch) {
      return write(db, scope, id, ifMatch, async (trx, row) => {
        const resource = fromInput(input);
        await saveGroup(trx, scope, row, resource);
        await memberOp(trx, scope, row, 'replace', undefined, resource.members);
      });
    },

    patch(db, scope, id, ops: PatchOp[], ifMatch) {
      return write(db, scope, id, ifMatch, async (trx, row, current) => {
        // Operations on members become inserts and deletes (a group may have many); the rest is
        // applied to the group without its members, in order.
        const { members: _members, ...rest } = current;
        let group = rest;
        for (const [i, op] of ops.entries()) {
          try {
            group = await groupOp(trx, scope, row, group, op);
          } catch (err) {
            // Each one is applied on its own: its errors name it by its place in the request.
            if (err instanceof ScimError)
              throw new ScimError(err.status, err.scimType, `Operation ${i + 1}: ${err.message.replace(/^Operation 1: /, '')}`);
            throw err;
          }
        }
        await saveGroup(trx, scope, row, group);
      });
    },

    async remove(db, scope, id, ifMatch) {
      const row = await loadRow(db, scope, id);
      checkVersion(await present(db, scope, row), ifMatch);
      try {
        const deleted = await deleteGroups(db, [{ id: row.id, name: row.name }], scope.actor);
        if (!deleted.length) throw notFound(`There is no group ${id}.`);
      } catch (err) {
        if (err instanceof RuleError) throw new ScimError(400, 'mutability', err.message);
        throw err;
      }
    },
  };

  /** One operation: on members as SQL, on the rest through patch.ts; returns the group without its members. */
  async function groupOp(trx: Db, scope: Scope, row: GroupRow, group: Resource, op: PatchOp): Promise<Resource> {
    const target = op.path === undefined ? undefined : parsePath(GROUP_TYPE, op.path);
    const valueMembers = op.path === undefined && op.value && typeof op.value === 'object' ? memberKey(op.value as Resource) : undefined;
    if (target?.attr !== 'members' && valueMembers === undefined) return applyPatch(GROUP_TYPE, group, [op]);
    if (valueMembers !== undefined) {
      const { [valueMembers]: value, ...others } = op.value as Resource;
      await memberOp(trx, scope, row, op.op, undefined, value);
      return Object.keys(others).length ? applyPatch(GROUP_TYPE, group, [{ ...op, value: others }]) : group;
    }
    if (target!.sub)
      throw new ScimError(
        400,
        'mutability',
        'members: a member’s value, $ref and type cannot be changed; remove the member and add another.',
      );
    await memberOp(trx, scope, row, op.op, target!.filter, op.value);
    return group;
  }

  async function memberOp(
    trx: Db,
    scope: Scope,
    row: GroupRow,
    op: PatchOp['op'],
    filter: ReturnType<typeof parsePath>['filter'],
    value: unknown,
  ) {
    // Adding reads no member: addToGroup skips those who are members already.
    if (op === 'add') return changeMembers(trx, scope, row, await memberIds(trx, scope, value), []);
    const current = (await membersOf(trx, scope, [row.id])).get(row.id)!;
    const now = current.map((m) => m.id);
    if (op === 'replace' && !filter) {
      const wanted = new Set(await memberIds(trx, scope, value));
      const members = new Set(now);
      return changeMembers(
        trx,
        scope,
        row,
        [...wanted].filter((id) => !members.has(id)),
        now.filter((id) => !wanted.has(id)),
      );
    }
    if (op === 'replace') throw new ScimError(400, 'mutability', 'members: a member cannot be replaced; remove it and add another.');
    // remove: the members a filter selects, those listed in the value (Entra ID, Okta), or all.
    const members = GROUP.attributes.find((a) => a.name === 'members')!;
    let gone: number[];
    if (filter) {
      gone = current
        .filter((m) => itemMatches(GROUP_TYPE, members, { value: String(m.id), display: m.username, type: 'User' }, filter))
        .map((m) => m.id);
    } else if (value !== undefined && value !== null) {
      const listed = new Set(await memberIdsLoose(value));
      gone = now.filter((id) => listed.has(id));
    } else gone = now;
    return changeMembers(trx, scope, row, [], gone);
  }
}

/** Member ids listed for removal; ids of users that are gone or never were are simply not members. */
async function memberIdsLoose(value: unknown): Promise<number[]> {
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => idOf(String((item as Resource)?.value ?? ''))).filter((id): id is number => id !== undefined);
}

/** The key of a value-only operation's object that names members (`members`, any case, or URN-qualified). */
function memberKey(value: Resource): string | undefined {
  return Object.keys(value).find((key) => /^(urn:ietf:params:scim:schemas:core:2\.0:group:)?members$/i.test(key));
}

function fromInput(input: Resource): Resource {
  const { known, unknown } = splitInput(GROUP_TYPE, input);
  return { ...unknown, ...applyPatch(GROUP_TYPE, {}, [{ op: 'add', value: known }]) };
}
