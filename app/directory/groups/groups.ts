import { randomUUID } from 'node:crypto';
import type { Db, GroupRow } from '../../db.js';
import { deleteSelected, isUniqueViolation, toDate, whereStartsWith } from '../../db.js';
import { HttpError, RuleError } from '../../errors.js';
import type { Actor } from '../../events/events.js';
import { actorEvent, recordEvent, recordEvents } from '../../events/events.js';
import { normalName } from '../../identity/names.js';

export interface Group {
  id: number;
  uuid: string;
  name: string;
  isSuperuser: boolean;
  attributes: Record<string, unknown>;
  created: Date;
  lastUpdated: Date;
  /** The provisioning client's identifier for the group (SCIM externalId). */
  externalId: string | null;
  /** The id of the SCIM token that created the group (the token may be deleted since). */
  provisionedBy: number | null;
  /** Present where the query counted them. */
  members?: number;
}

export interface GroupFields {
  name: string;
  isSuperuser: boolean;
  attributes: Record<string, unknown>;
}

export function toGroup(row: GroupRow & { members?: number | string }): Group {
  return {
    id: row.id,
    uuid: row.uuid,
    name: row.name,
    isSuperuser: Boolean(row.is_superuser),
    attributes: JSON.parse(row.attributes || '{}'),
    created: toDate(row.created)!,
    lastUpdated: toDate(row.last_updated)!,
    externalId: row.external_id ?? null,
    provisionedBy: row.provisioned_by ?? null,
    ...(row.members !== undefined ? { members: Number(row.members) } : {}),
  };
}

const memberCount = '(select count(*) from group_memberships gm where gm.group_id = `groups`.id) as members';

/**
 * Member counts for pages that list groups. Counting a group reads one index entry per member, so a
 * page of big groups is slow to count on every view. Counts are kept per process for
 * 30 s, and dropped at once when memberships change through this process; a change made through
 * another process shows within 30 s. A group's own page counts live.
 */
const COUNTS_TTL_MS = 30_000;
const countCaches = new WeakMap<object, Map<number, { members: number; at: number }>>();

function countCache(db: Db): Map<number, { members: number; at: number }> {
  const key = db.client.config as object; // shared by the pool and its transactions
  let cache = countCaches.get(key);
  if (!cache) {
    cache = new Map();
    countCaches.set(key, cache);
  }
  return cache;
}

/** After a change to memberships: the next list counts again. */
export function forgetMemberCounts(db: Db): void {
  countCache(db).clear();
}

async function withMemberCounts(db: Db, groups: Group[]): Promise<Group[]> {
  const cache = countCache(db);
  const now = Date.now();
  const stale = groups.filter((g) => (cache.get(g.id)?.at ?? 0) <= now - COUNTS_TTL_MS).map((g) => g.id);
  if (stale.length) {
    const rows: { group_id: number; n: number | string }[] = await db('group_memberships')
      .whereIn('group_id', stale)
      .groupBy('group_id')
      .select('group_id')
      .count({ n: '*' });
    for (const id of stale) cache.set(id, { members: 0, at: now });
    for (const row of rows) cache.set(Number(row.group_id), { members: Number(row.n), at: now });
  }
  return groups.map((g) => ({ ...g, members: cache.get(g.id)!.members }));
}

export async function findGroup(db: Db, id: number): Promise<Group | undefined> {
  const row = await db('groups').where({ id }).first('*', db.raw(memberCount));
  return row && toGroup(row);
}

/** A group by its exact name, or by its id when the text is a number. */
export async function findGroupByNameOrId(db: Db, text: string): Promise<Group | undefined> {
  const row = await db('groups')
    .where({ name: normalName(text) })
    .first();
  if (row) return toGroup(row);
  if (/^\d{1,10}$/.test(text)) return findGroup(db, Number(text));
  return undefined;
}

export interface GroupPage {
  groups: Group[];
  next: string | null;
  prev: string | null;
}

/** Groups by name, a page at a time (keyset on the unique name), with their member counts. */
export async function listGroups(db: Db, options: { q?: string; page?: string }, pageSize = 50): Promise<GroupPage> {
  const cursor = /^([ab]):(.+)$/s.exec(options.page ?? '');
  const backwards = cursor?.[1] === 'b';
  const query = db('groups').select('*');
  if (options.q) whereStartsWith(query, 'name', options.q);
  if (cursor) query.where('name', backwards ? '<' : '>', cursor[2]);
  const rows = await query.orderBy('name', backwards ? 'desc' : 'asc').limit(pageSize + 1);
  const more = rows.length > pageSize;
  const groups = await withMemberCounts(db, rows.slice(0, pageSize).map(toGroup));
  if (backwards) groups.reverse();
  const hasNext = backwards ? true : more;
  const hasPrev = backwards ? more : Boolean(cursor);
  return {
    groups,
    next: hasNext && groups.length ? `a:${groups[groups.length - 1].name}` : null,
    prev: hasPrev && groups.length ? `b:${groups[0].name}` : null,
  };
}

/** A group by its uuid (the API's key), without its member count. */
export async function findGroupByUuid(db: Db, uuid: string): Promise<Group | undefined> {
  const row = await db('groups').where({ uuid }).first();
  return row && toGroup(row);
}

/**
 * Groups by name, a page at a time by offset, with how many match, as the /api/v3 API pages them:
 * two queries, whatever the page size. `name` matches exactly, `search` is a name prefix.
 */
export async function groupsByOffset(
  db: Db,
  filter: { name?: string; search?: string },
  offset: number,
  limit: number,
): Promise<{ count: number; groups: Group[] }> {
  const query = db('groups');
  if (filter.name !== undefined) query.where('name', filter.name);
  if (filter.search) whereStartsWith(query, 'name', filter.search);
  const [{ n }] = await query.clone().count({ n: '*' });
  const rows = await query.orderBy('name').offset(offset).limit(limit).select('*');
  return { count: Number(n), groups: rows.map(toGroup) };
}

/** The ids of a group's members (at most `limit`). */
export async function memberIds(db: Db, groupId: number, limit = 1000): Promise<number[]> {
  return db('group_memberships').where({ group_id: groupId }).limit(limit).pluck('user_id');
}

/** Every group's id and name, for the "add to group" picker. */
export async function groupChoices(db: Db, limit = 5000): Promise<{ id: number; name: string }[]> {
  return db('groups').orderBy('name').limit(limit).select('id', 'name');
}

export async function groupsOfUser(db: Db, userId: number): Promise<Group[]> {
  const rows = await db('groups')
    .join('group_memberships', 'group_memberships.group_id', 'groups.id')
    .where('group_memberships.user_id', userId)
    .orderBy('groups.name')
    .select('groups.*');
  return withMemberCounts(db, rows.map(toGroup));
}

export async function membersOf(db: Db, groupId: number, limit = 100) {
  return db('users')
    .join('group_memberships', 'group_memberships.user_id', 'users.id')
    .where('group_memberships.group_id', groupId)
    .orderBy('users.username')
    .limit(limit)
    .select('users.id', 'users.username', 'users.name', 'users.is_active');
}

export function modelRef(group: { id: number; name: string }) {
  return { app: 'roster.directory', model_name: 'group', pk: group.id, name: group.name };
}

export type GroupSaveResult = { ok: true; group: Group } | { ok: false; field: 'name'; message: string };
const NAME_TAKEN = { ok: false, field: 'name', message: 'A group with this name exists already' } as const;

export async function createGroup(db: Db, fields: GroupFields, actor: Actor): Promise<GroupSaveResult> {
  try {
    return await db.transaction(async (trx) => {
      const now = new Date();
      const [id] = await trx('groups').insert({
        uuid: randomUUID(),
        name: fields.name,
        is_superuser: fields.isSuperuser,
        attributes: JSON.stringify(fields.attributes),
        created: now,
        last_updated: now,
      });
      const group = (await findGroup(trx, Number(id)))!;
      await recordEvent(trx, actorEvent('model_created', actor, 'roster.directory', { model: modelRef(group) }));
      return { ok: true as const, group };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return NAME_TAKEN;
    throw err;
  }
}

/**
 * Saves a group; taking the superuser flag away must leave an active administrator. What changed is
 * taken against the row as it is inside the transaction, locked: a double-submit records one event.
 */
export async function updateGroup(
  db: Db,
  loaded: Group,
  fields: GroupFields,
  actor: Actor,
  /** A column the form does not hold: the provisioning client's identifier (SCIM). */
  extra: { externalId?: string | null } = {},
): Promise<GroupSaveResult> {
  try {
    return await db.transaction(async (trx) => {
      if (loaded.isSuperuser && !fields.isSuperuser) await lockSuperuserGroups(trx);
      const row = await trx('groups').where({ id: loaded.id }).forUpdate().first();
      if (!row) throw new HttpError(404, 'There is no such group. It may have been deleted.');
      const before = toGroup(row);
      await trx('groups')
        .where({ id: before.id })
        .update({
          name: fields.name,
          is_superuser: fields.isSuperuser,
          attributes: JSON.stringify(fields.attributes),
          ...(extra.externalId !== undefined ? { external_id: extra.externalId } : {}),
          last_updated: new Date(),
        });
      if (before.isSuperuser && !fields.isSuperuser) await assertAdministratorRemains(trx);
      const group = (await findGroup(trx, before.id))!;
      const changed = [
        ...(before.name !== group.name ? ['name'] : []),
        ...(before.isSuperuser !== group.isSuperuser ? ['is_superuser'] : []),
        ...(JSON.stringify(before.attributes) !== JSON.stringify(group.attributes) ? ['attributes'] : []),
        ...(before.externalId !== group.externalId ? ['external_id'] : []),
      ];
      if (changed.length)
        await recordEvent(trx, actorEvent('model_updated', actor, 'roster.directory', { model: modelRef(group), changed }));
      return { ok: true as const, group };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return NAME_TAKEN;
    throw err;
  }
}

/** Deletes groups; returns (and records) those this transaction deleted, not those another request deleted first. */
export async function deleteGroups<G extends { id: number; name: string }>(db: Db, groups: G[], actor: Actor): Promise<G[]> {
  const deleted = await db.transaction(async (trx) => {
    await lockSuperuserGroups(trx);
    const ids = new Set(
      await deleteSelected<number>(
        trx('groups').whereIn(
          'id',
          groups.map((g) => g.id),
        ),
        'id',
      ),
    );
    const gone = groups.filter((g) => ids.has(g.id));
    await assertAdministratorRemains(trx);
    await recordEvents(
      trx,
      gone.map((group) => actorEvent('model_deleted', actor, 'roster.directory', { model: modelRef(group) })),
    );
    return gone;
  });
  forgetMemberCounts(db);
  return deleted;
}

/**
 * Adds the user to the group; false when they were a member already. The primary key decides (a
 * double-submit's second insert waits for the first and fails), not a read before the insert.
 */
export async function addMembership(db: Db, user: { id: number; username: string }, group: Group, actor: Actor): Promise<boolean> {
  let added = true;
  try {
    await db.transaction(async (trx) => {
      await trx('group_memberships').insert({ group_id: group.id, user_id: user.id });
      await recordEvent(trx, actorEvent('model_updated', actor, 'roster.directory', { model: modelRef(group), added_user: user.username }));
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    added = false;
  }
  forgetMemberCounts(db);
  return added;
}

/** Ends memberships; returns (and records) the groups this transaction removed the user from. */
export async function removeMemberships<G extends { id: number; name: string }>(
  db: Db,
  user: { id: number; username: string },
  groups: G[],
  actor: Actor,
): Promise<G[]> {
  const removed = await db.transaction(async (trx) => {
    await lockSuperuserGroups(trx);
    const ids = new Set(
      await deleteSelected<number>(
        trx('group_memberships')
          .where({ user_id: user.id })
          .whereIn(
            'group_id',
            groups.map((g) => g.id),
          ),
        'group_id',
      ),
    );
    const gone = groups.filter((g) => ids.has(g.id));
    await assertAdministratorRemains(trx);
    await recordEvents(
      trx,
      gone.map((group) => actorEvent('model_updated', actor, 'roster.directory', { model: modelRef(group), removed_user: user.username })),
    );
    return gone;
  });
  forgetMemberCounts(db);
  return removed;
}

/** The id of the group with this name, creating it when it does not exist. */
export async function ensureGroup(db: Db, name: string, isSuperuser: boolean): Promise<number> {
  const existing = await db('groups').where({ name }).first('id');
  if (existing) return existing.id;
  const now = new Date();
  try {
    const [id] = await db('groups').insert({
      uuid: randomUUID(),
      name,
      is_superuser: isSuperuser,
      attributes: '{}',
      created: now,
      last_updated: now,
    });
    return Number(id);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // Within a transaction on MariaDB, reads see the database as it was at the first one, which
    // may be before the other writer's group: then the caller has to start again.
    const winner = await db('groups').where({ name }).first('id');
    if (!winner) throw err;
    return winner.id;
  }
}

export async function addMember(db: Db, groupId: number, userId: number): Promise<void> {
  await db('group_memberships').insert({ group_id: groupId, user_id: userId }).onConflict(['user_id', 'group_id']).ignore();
  forgetMemberCounts(db);
}

/** Whether some active member of a superuser group can log in with a password. */
export async function hasUsableSuperuser(db: Db): Promise<boolean> {
  const row = await superusers(db).whereNotNull('users.password').first('users.id');
  return Boolean(row);
}

function superusers(db: Db) {
  return db('users')
    .join('group_memberships', 'group_memberships.user_id', 'users.id')
    .join('groups', 'groups.id', 'group_memberships.group_id')
    .where('groups.is_superuser', true)
    .where('users.is_active', true);
}

/**
 * The first statement of every transaction that could leave no active administrator: such changes
 * take turns. Without it, two administrators deactivating each other at once on MariaDB would each
 * see the other still active, and both succeed.
 */
export async function lockSuperuserGroups(trx: Db): Promise<void> {
  await trx('groups').where('is_superuser', true).forUpdate().pluck('id');
}

/**
 * For a change that takes administrator rights from many users at once (deactivating them, or
 * removing them from one group): which of them must keep theirs so that an active administrator
 * remains. None while someone else stays one; else the first of them (by id) who is one now.
 * Inside the transaction, after lockSuperuserGroups.
 */
export async function lastAdministratorAmong(db: Db, userIds: number[], onlyGroup?: number): Promise<number | undefined> {
  const remains = await superusers(db)
    .where((q) => {
      q.whereNotIn('users.id', userIds);
      if (onlyGroup !== undefined) q.orWhereNot('groups.id', onlyGroup);
    })
    .first('users.id');
  if (remains) return undefined;
  const first = superusers(db).whereIn('users.id', userIds).orderBy('users.id');
  if (onlyGroup !== undefined) first.where('groups.id', onlyGroup);
  return (await first.first('users.id'))?.id;
}

/**
 * Throws when no active member of a superuser group would be left. Called inside the transaction of
 * every change that could lock everyone out (which began with lockSuperuserGroups), after the
 * change, so the change rolls back.
 */
export async function assertAdministratorRemains(db: Db): Promise<void> {
  if (!(await superusers(db).first('users.id'))) {
    throw new RuleError('This would leave no active administrator: at least one active user must stay in a superuser group.');
  }
}
