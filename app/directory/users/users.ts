import { randomUUID } from 'node:crypto';
import type { Db, UserRow } from '../../db.js';
import { deleteSelected, isUniqueViolation, toDate, whereStartsWith } from '../../db.js';
import { HttpError, RuleError } from '../../errors.js';
import { type Actor, actorEvent, recordEvent, recordEvents } from '../../events/events.js';
import { revokeUserTokens } from '../../oauth/grants.js';
import { assertAdministratorRemains, forgetMemberCounts, lockSuperuserGroups } from '../groups/groups.js';
import type { UserFields } from './form.js';
import { DEFAULT_PATH, type UserType } from './rules.js';
import { matchOf, whereMatches } from './search.js';
import { indexUsers, userKeys, writeTerms } from './terms.js';

export interface User {
  id: number;
  uuid: string;
  username: string;
  name: string;
  email: string;
  isActive: boolean;
  path: string;
  type: UserType;
  attributes: Record<string, unknown>;
  hasPassword: boolean;
  passwordChangeDate: Date | null;
  lastLogin: Date | null;
  dateJoined: Date;
  lastUpdated: Date;
  /** Expired from then on; null: never. */
  validUntil: Date | null;
  /** Locked by the brute-force protection until then (a past time: no longer locked), and why. */
  lockedUntil: Date | null;
  lockReason: string | null;
  /** The provisioning client's identifier for the user (SCIM externalId). */
  externalId: string | null;
  /** The id of the SCIM token that created the user (the token may be deleted since). */
  provisionedBy: number | null;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    uuid: row.uuid,
    username: row.username,
    name: row.name,
    email: row.email,
    isActive: Boolean(row.is_active),
    path: row.path,
    type: row.type as UserType,
    attributes: JSON.parse(row.attributes || '{}'),
    hasPassword: Boolean(row.password),
    passwordChangeDate: toDate(row.password_change_date),
    lastLogin: toDate(row.last_login),
    dateJoined: toDate(row.date_joined)!,
    lastUpdated: toDate(row.last_updated)!,
    validUntil: toDate(row.valid_until),
    lockedUntil: toDate(row.locked_until),
    lockReason: row.lock_reason ?? null,
    externalId: row.external_id ?? null,
    provisionedBy: row.provisioned_by ?? null,
  };
}

export async function findById(db: Db, id: number): Promise<User | undefined> {
  const row = await db('users').where({ id }).first();
  return row && toUser(row);
}

export interface NewUser {
  username: string;
  name?: string;
  email?: string;
  isActive?: boolean;
  path?: string;
  type?: UserType;
  attributes?: Record<string, unknown>;
  passwordHash?: string | null;
  validUntil?: Date | null;
}

/** Inserts a user (with columns a form does not hold, for provisioning) and writes its search rows. */
export async function insertUser(db: Db, user: NewUser, extra: ExtraColumns = {}): Promise<number> {
  const now = new Date();
  const row = {
    uuid: randomUUID(),
    username: user.username,
    name: user.name ?? '',
    email: user.email ?? '',
    is_active: user.isActive ?? true,
    path: user.path ?? DEFAULT_PATH,
    type: user.type ?? 'internal',
    attributes: JSON.stringify(user.attributes ?? {}),
    password: user.passwordHash ?? null,
    password_change_date: user.passwordHash ? now : null,
    valid_until: user.validUntil ?? null,
    date_joined: now,
    last_updated: now,
    ...extraColumns(extra, now),
  };
  const [id] = await db('users').insert({ ...row, ...userKeys(row) });
  // A new user has no search rows yet: they are written from the row in hand.
  await writeTerms(db, [{ ...row, id: Number(id), last_login: null }], { keysWritten: true });
  return Number(id);
}

/** A user as the form left it: either saved, or refused with a message for a field. */
export type SaveResult = { ok: true; user: User; changed: string[] } | { ok: false; field: 'username' | 'is_active'; message: string };

export const USERNAME_TAKEN = 'This username is taken (usernames are unique across all folders)';
const TAKEN = { ok: false, field: 'username', message: USERNAME_TAKEN } as const;

export async function usernameTaken(db: Db, username: string, exceptId?: number): Promise<boolean> {
  const query = db('users').where({ username }).first('id');
  if (exceptId) query.whereNot('id', exceptId);
  return Boolean(await query);
}

function columnsOf(fields: UserFields) {
  return {
    username: fields.username,
    path: fields.path,
    attributes: JSON.stringify(fields.attributes),
    name: fields.name,
    email: fields.email,
    is_active: fields.isActive,
    type: fields.type,
    valid_until: fields.validUntil,
  };
}

/** Whether a column keeps its value: times by the moment they name, the rest as they are. */
function sameValue(a: unknown, b: unknown): boolean {
  return a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
}

/**
 * Columns a form does not hold, written with its fields by provisioning (SCIM): the client's
 * identifier, the token that created the user, a new password's hash.
 */
export type ExtraColumns = Partial<Pick<UserRow, 'external_id' | 'provisioned_by' | 'password'>>;

function extraColumns(extra: ExtraColumns, now: Date) {
  return extra.password ? { ...extra, password_change_date: now } : extra;
}

/** Creates a user; the database's unique index, not a pre-check, decides whether the name is free. */
export async function createUser(db: Db, fields: UserFields, actor: Actor, extra: ExtraColumns = {}): Promise<SaveResult> {
  try {
    return await db.transaction(async (trx) => {
      const id = await insertUser(trx, { ...fields }, extra);
      const user = (await findById(trx, id))!;
      await recordEvent(trx, actorEvent('model_created', actor, 'roster.directory', { model: modelRef(user) }));
      return { ok: true as const, user, changed: [] };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return TAKEN;
    throw err;
  }
}

const SELF_DEACTIVATION = 'You cannot deactivate your own account';

/** The columns the list's search rows are written from (terms.ts): a change to one re-indexes the user. */
const SEARCHED_COLUMNS = ['username', 'name', 'email', 'path', 'is_active'];

/**
 * Saves the fields that changed and records which ones did. The changes are taken against the row
 * as it is inside the transaction, locked: a double-submit's second request finds nothing to change.
 * Deactivating follows setActive's rules: not oneself, and an active administrator must remain
 * (refused on the is_active field).
 */
export async function updateUser(db: Db, before: User, fields: UserFields, actor: Actor, extra: ExtraColumns = {}): Promise<SaveResult> {
  if (!fields.isActive && before.id === actor.id) return { ok: false, field: 'is_active', message: SELF_DEACTIVATION };
  const wanted: Record<string, unknown> = { ...columnsOf(fields), ...extra };
  try {
    return await db.transaction(async (trx) => {
      if (!fields.isActive) await lockSuperuserGroups(trx);
      const current = await lockUser(trx, before.id);
      const row = Object.keys(extra).length ? await trx('users').where({ id: before.id }).first(Object.keys(extra)) : {};
      const stored: Record<string, unknown> = { ...columnsOf(fieldsOf(current)), ...row };
      const changes = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => !sameValue(stored[key], value)));
      const changed = Object.keys(changes);
      if (!changed.length) return { ok: true as const, user: current, changed };
      const now = new Date();
      await trx('users')
        .where({ id: before.id })
        .update({ ...extraColumns(changes, now), last_updated: now });
      if (SEARCHED_COLUMNS.some((column) => column in changes)) await indexUsers(trx, [before.id]);
      if (changes.is_active === false) await endAccess(trx, [before.id]);
      else if ('password' in changes) await trx('sessions').where({ user_id: before.id }).delete(); // a new password ends every session, as everywhere
      const user = (await findById(trx, before.id))!;
      await recordEvent(trx, actorEvent('model_updated', actor, 'roster.directory', { model: modelRef(user), changed }));
      return { ok: true as const, user, changed };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return TAKEN;
    if (err instanceof RuleError) return { ok: false, field: 'is_active', message: err.message };
    throw err;
  }
}

/**
 * Deactivated users' way in ends at once: every session and OAuth token. Inside the transaction
 * that deactivated them, which began with lockSuperuserGroups: it throws (and so rolls back) when
 * no active administrator would be left.
 */
export async function endAccess(trx: Db, userIds: number[]): Promise<void> {
  await trx('sessions').whereIn('user_id', userIds).delete();
  await revokeUserTokens(trx, userIds);
  await assertAdministratorRemains(trx);
}

/**
 * The user's row, locked until the transaction ends: writes to one user that need what it holds now
 * wait for each other. 404 when another request deleted the user meanwhile.
 */
export async function lockUser(trx: Db, id: number): Promise<User> {
  const row = await trx('users').where({ id }).forUpdate().first();
  if (!row) throw new HttpError(404, 'There is no such user. It may have been deleted.');
  return toUser(row);
}

export function fieldsOf(user: User): UserFields {
  return {
    username: user.username,
    path: user.path,
    attributes: user.attributes,
    name: user.name,
    email: user.email,
    isActive: user.isActive,
    type: user.type,
    validUntil: user.validUntil,
  };
}

/** How events name a user they are about. */
export function modelRef(user: Pick<User, 'id' | 'username'>) {
  return { app: 'roster.directory', model_name: 'user', pk: user.id, name: user.username };
}

/**
 * Deactivates (ending every session at once) or activates a user. Nobody deactivates themselves,
 * and an active administrator must remain.
 */
export async function setActive(db: Db, user: User, active: boolean, actor: Actor): Promise<void> {
  if (!active && user.id === actor.id) throw new RuleError(`${SELF_DEACTIVATION}.`);
  await db.transaction(async (trx) => {
    if (!active) await lockSuperuserGroups(trx);
    if ((await lockUser(trx, user.id)).isActive === active) return; // a double-submit: done already
    await trx('users').where({ id: user.id }).update({ is_active: active, last_updated: new Date() });
    await indexUsers(trx, [user.id]);
    if (!active) await endAccess(trx, [user.id]);
    await recordEvent(
      trx,
      actorEvent('model_updated', actor, 'roster.directory', { model: modelRef(user), changed: ['is_active'], is_active: active }),
    );
  });
}

/** How many rows of each kind go with each user, for a delete review. One query per kind. */
export async function dependents(db: Db, userIds: number[], withEvents: boolean) {
  const countBy = async (table: 'sessions' | 'group_memberships' | 'events', column: 'user_id' | 'user_pk') => {
    const rows: { id: number; n: number | string }[] = await db(table)
      .whereIn(column, userIds)
      .groupBy(column)
      .select(`${column} as id`)
      .count({ n: '*' });
    return new Map(rows.map((r) => [Number(r.id), Number(r.n)]));
  };
  const [sessions, memberships, events] = await Promise.all([
    countBy('sessions', 'user_id'),
    countBy('group_memberships', 'user_id'),
    withEvents ? countBy('events', 'user_pk') : new Map<number, number>(),
  ]);
  return (id: number) => ({ sessions: sessions.get(id) ?? 0, memberships: memberships.get(id) ?? 0, events: events.get(id) ?? 0 });
}

/**
 * Deletes users in one transaction. Their sessions, memberships and recovery tokens go with them
 * (foreign keys cascade); their events too when the setting says so. One model_deleted event for each
 * user this transaction deleted (another request may have deleted some first); returns those users.
 */
export async function deleteUsers(db: Db, users: User[], actor: Actor, options: { deleteEvents: boolean }): Promise<User[]> {
  if (users.some((u) => u.id === actor.id)) throw new RuleError('You cannot delete your own account.');
  const deleted = await db.transaction(async (trx) => {
    await lockSuperuserGroups(trx);
    const ids = new Set(
      await deleteSelected<number>(
        trx('users').whereIn(
          'id',
          users.map((u) => u.id),
        ),
        'id',
      ),
    );
    const gone = users.filter((u) => ids.has(u.id));
    if (options.deleteEvents && gone.length)
      await trx('events')
        .whereIn('user_pk', [...ids])
        .delete();
    await assertAdministratorRemains(trx);
    await recordEvents(
      trx,
      gone.map((user) =>
        actorEvent('model_deleted', actor, 'roster.directory', {
          model: modelRef(user),
          deleted_user: { pk: user.id, username: user.username, email: user.email },
        }),
      ),
    );
    return gone;
  });
  forgetMemberCounts(db); // their memberships went with them
  return deleted;
}

/** Users as authentik's API filters them: exact fields, active or not, a path prefix, a search. */
export interface UserApiFilter {
  exact: Partial<Record<'username' | 'name' | 'email' | 'path' | 'uuid', string>>;
  isActive?: boolean;
  pathStartsWith?: string;
  /** Words found at the start of words of the username, the name or the e-mail, as in the list. */
  search?: string;
  order: { column: 'id' | 'username' | 'name' | 'email' | 'last_login' | 'date_joined' | 'is_active' | 'path'; desc: boolean };
}

/** One page of users by offset, with how many match (for the /api/v3 API's pagination). */
export async function usersByOffset(
  db: Db,
  filter: UserApiFilter,
  offset: number,
  limit: number,
): Promise<{ count: number; users: User[] }> {
  const query = db('users');
  for (const [key, value] of Object.entries(filter.exact)) if (value !== undefined) query.where(key, value);
  if (filter.isActive !== undefined) query.where('is_active', filter.isActive);
  const prefix = filter.pathStartsWith;
  if (prefix) whereStartsWith(query, 'path', prefix);
  const match = filter.search ? matchOf(filter.search) : null;
  if (match) whereMatches(query, match); // the list's search
  const [{ n }] = await query.clone().count({ n: '*' });
  const rows = await query
    .orderBy(filter.order.column, filter.order.desc ? 'desc' : 'asc')
    .orderBy('id')
    .offset(offset)
    .limit(limit);
  return { count: Number(n), users: rows.map(toUser) };
}

/** The folders users are in (their distinct paths), optionally those starting with `prefix`. */
export async function userPaths(db: Db, prefix = ''): Promise<string[]> {
  const query = db('users').distinct('path').orderBy('path');
  if (prefix) whereStartsWith(query, 'path', prefix);
  return (await query).map((r) => r.path);
}

export async function findByIds(db: Db, ids: number[]): Promise<User[]> {
  if (!ids.length) return [];
  const rows = await db('users').whereIn('id', ids).orderBy('username');
  return rows.map(toUser);
}
