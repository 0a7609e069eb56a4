import type { Knex } from 'knex';
import type { Db } from '../../../db.js';
import { RuleError } from '../../../errors.js';
import { type Actor, actorEvent, recordEvents } from '../../../events/events.js';
import {
  assertAdministratorRemains,
  forgetMemberCounts,
  type Group,
  modelRef as groupRef,
  lastAdministratorAmong,
  lockSuperuserGroups,
} from '../../groups/groups.js';
import { restampTerms } from '../terms.js';
import { endAccess, modelRef } from '../users.js';

/**
 * Writes to many selected users at once, as the list's bulk actions make them: each one transaction,
 * set-based (a statement per kind of change, not per user; events in batches), and each reporting
 * what became of every selected user: done, or skipped and why.
 */

/** Why a selected user was left as they were. */
export const SKIPPED = {
  gone: 'no longer exists',
  self: 'this is you',
  lastAdministrator: 'last active administrator',
  deactivated: 'already deactivated',
  active: 'already active',
  member: 'already a member',
  notMember: 'not a member',
  inFolder: 'already in this folder',
  noSessions: 'no active sessions',
  lockedDown: 'already locked down',
} as const;

/** What became of one selected user: acted on, or `skipped` and why. */
export interface Outcome {
  id: number;
  username: string;
  skipped?: string;
}

/** A selected user as the transaction found them. */
export interface SelectedUser {
  id: number;
  username: string;
  email: string;
  isActive: boolean;
  path: string;
  hasPassword: boolean;
}

type SkipRule = (user: SelectedUser) => string | undefined;

/** The rules the review foresees with and the writes apply: the same words in both. */
export const alreadyDeactivated: SkipRule = (user) => (user.isActive ? undefined : SKIPPED.deactivated);
export const alreadyActive: SkipRule = (user) => (user.isActive ? SKIPPED.active : undefined);
export const isActor =
  (actorId: number): SkipRule =>
  (user) =>
    user.id === actorId ? SKIPPED.self : undefined;

/**
 * The selected users, their rows locked until the transaction ends, and what becomes of each. The
 * rows are locked in id order: two requests over the same users (a double submit) take the locks in
 * one order, so the second waits for the first, then finds its work done.
 */
export class Selected {
  private readonly reasons = new Map<number, string>();

  private constructor(
    private readonly ids: number[],
    private readonly found: Map<number, SelectedUser>,
  ) {}

  static async lock(trx: Db, ids: number[]): Promise<Selected> {
    const rows: { id: number; username: string; email: string; is_active: unknown; path: string; has_password: unknown }[] = await trx(
      'users',
    )
      .whereIn('id', ids)
      .orderBy('id')
      .forUpdate()
      .select('id', 'username', 'email', 'is_active', 'path', trx.raw('password is not null as has_password'));
    const users = rows.map((r) => ({
      id: r.id,
      username: r.username,
      email: r.email,
      isActive: Boolean(r.is_active),
      path: r.path,
      hasPassword: Boolean(r.has_password),
    }));
    return new Selected(ids, new Map(users.map((u) => [u.id, u])));
  }

  /** The users still to act on. */
  get todo(): SelectedUser[] {
    return [...this.found.values()].filter((u) => !this.reasons.has(u.id));
  }

  get todoIds(): number[] {
    return this.todo.map((u) => u.id);
  }

  /** Leaves users as they are, for the reason the rule gives (none: still to act on). */
  skip(rule: SkipRule): void {
    for (const user of this.todo) {
      const reason = rule(user);
      if (reason) this.reasons.set(user.id, reason);
    }
  }

  /**
   * The guard rails of whatever takes something away: never the acting administrator, and never
   * the last active administrator (of `onlyGroup`'s, when only that membership ends). Inside a
   * transaction that began with lockSuperuserGroups.
   */
  async spareAdministrators(trx: Db, actor: Actor, onlyGroup?: number): Promise<void> {
    this.skip(isActor(actor.id));
    const todo = this.todoIds;
    const last = todo.length ? await lastAdministratorAmong(trx, todo, onlyGroup) : undefined;
    if (last !== undefined) this.reasons.set(last, SKIPPED.lastAdministrator);
  }

  /** What became of each selected user, in the order of the selection. */
  outcomes(): Outcome[] {
    return this.ids.map((id) => {
      const user = this.found.get(id);
      if (!user) return { id, username: `user #${id}`, skipped: SKIPPED.gone };
      const skipped = this.reasons.get(id);
      return skipped ? { id, username: user.username, skipped } : { id, username: user.username };
    });
  }
}

const idsOf = (users: SelectedUser[]) => users.map((u) => u.id);

/** How many rows of a table each of these users has (of those `where` keeps), in one grouped query. */
export async function countByUser(
  trx: Db,
  table: 'sessions' | 'oauth_artifacts' | 'consents' | 'api_tokens' | 'recovery_tokens',
  ids: number[],
  where: (query: Knex.QueryBuilder) => void = () => {},
): Promise<Map<number, number>> {
  if (!ids.length) return new Map();
  const query: Knex.QueryBuilder = trx(table as string)
    .whereIn('user_id', ids)
    .groupBy('user_id')
    .select('user_id')
    .count({ n: '*' });
  where(query);
  const rows: { user_id: number; n: number | string }[] = await query;
  return new Map(rows.map((r) => [Number(r.user_id), Number(r.n)]));
}

/**
 * Deactivates (ending every session and OAuth token at once, as setActive does for one) or
 * activates the selected users.
 */
export async function setActiveOf(db: Db, ids: number[], active: boolean, actor: Actor): Promise<Outcome[]> {
  return db.transaction(async (trx) => {
    if (!active) await lockSuperuserGroups(trx);
    const selected = await Selected.lock(trx, ids);
    selected.skip(active ? alreadyActive : alreadyDeactivated);
    if (!active) await selected.spareAdministrators(trx, actor);
    const todo = selected.todo;
    if (todo.length) {
      const changed = idsOf(todo);
      await trx('users').whereIn('id', changed).update({ is_active: active, last_updated: new Date() });
      await restampTerms(trx, changed, { is_active: active });
      if (!active) await endAccess(trx, changed);
      await recordEvents(
        trx,
        todo.map((user) =>
          actorEvent('model_updated', actor, 'roster.directory', { model: modelRef(user), changed: ['is_active'], is_active: active }),
        ),
      );
    }
    return selected.outcomes();
  });
}

/** The group's row, shared-locked so that it is not deleted under the change; refused when it is gone. */
async function holdGroup(trx: Db, group: Pick<Group, 'id' | 'name'>): Promise<void> {
  if (!(await trx('groups').where({ id: group.id }).forShare().first('id'))) {
    throw new RuleError(`The group ${group.name} no longer exists.`);
  }
}

/** Which of these users are members of the group; their memberships locked. */
async function membersAmong(trx: Db, groupId: number, ids: number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  return new Set(await trx('group_memberships').where({ group_id: groupId }).whereIn('user_id', ids).forUpdate().pluck('user_id'));
}

/** Adds the selected users to the group; an event per membership, as adding one does. */
export async function addToGroup(db: Db, ids: number[], group: Pick<Group, 'id' | 'name'>, actor: Actor): Promise<Outcome[]> {
  const outcomes = await db.transaction(async (trx) => {
    await holdGroup(trx, group);
    const selected = await Selected.lock(trx, ids);
    const members = await membersAmong(trx, group.id, selected.todoIds);
    selected.skip((user) => (members.has(user.id) ? SKIPPED.member : undefined));
    const todo = selected.todo;
    // 400 rows a statement: SQLite writes a multi-row insert as a compound SELECT, of at most 500 parts.
    for (let i = 0; i < todo.length; i += 400) {
      await trx('group_memberships')
        .insert(todo.slice(i, i + 400).map((user) => ({ group_id: group.id, user_id: user.id })))
        .onConflict(['user_id', 'group_id'])
        .ignore();
    }
    await recordEvents(
      trx,
      todo.map((user) => actorEvent('model_updated', actor, 'roster.directory', { model: groupRef(group), added_user: user.username })),
    );
    return selected.outcomes();
  });
  forgetMemberCounts(db);
  return outcomes;
}

/** Removes the selected users from the group, sparing the acting administrator and the last active one. */
export async function removeFromGroup(db: Db, ids: number[], group: Pick<Group, 'id' | 'name'>, actor: Actor): Promise<Outcome[]> {
  const outcomes = await db.transaction(async (trx) => {
    await lockSuperuserGroups(trx);
    await holdGroup(trx, group);
    const selected = await Selected.lock(trx, ids);
    const members = await membersAmong(trx, group.id, selected.todoIds);
    selected.skip((user) => (members.has(user.id) ? undefined : SKIPPED.notMember));
    await selected.spareAdministrators(trx, actor, group.id);
    const todo = selected.todo;
    if (todo.length) {
      await trx('group_memberships').where({ group_id: group.id }).whereIn('user_id', idsOf(todo)).delete();
      await assertAdministratorRemains(trx);
      await recordEvents(
        trx,
        todo.map((user) => actorEvent('model_updated', actor, 'roster.directory', { model: groupRef(group), removed_user: user.username })),
      );
    }
    return selected.outcomes();
  });
  forgetMemberCounts(db);
  return outcomes;
}

/** Moves the selected users to a folder (a path the caller checked with pathProblem). */
export async function moveUsers(db: Db, ids: number[], path: string, actor: Actor): Promise<Outcome[]> {
  return db.transaction(async (trx) => {
    const selected = await Selected.lock(trx, ids);
    selected.skip((user) => (user.path === path ? SKIPPED.inFolder : undefined));
    const todo = selected.todo;
    if (todo.length) {
      await trx('users').whereIn('id', idsOf(todo)).update({ path, last_updated: new Date() });
      await restampTerms(trx, idsOf(todo), { path });
      await recordEvents(
        trx,
        todo.map((user) =>
          actorEvent('model_updated', actor, 'roster.directory', {
            model: modelRef(user),
            changed: ['path'],
            path: { from: user.path, to: path },
          }),
        ),
      );
    }
    return selected.outcomes();
  });
}

/**
 * Ends every session of the selected users (each ends at its next request, on every process), but
 * never the acting administrator's. An event per user, counting their sessions, as ending them from
 * the sessions tab records.
 */
export async function endSessionsOf(db: Db, ids: number[], actor: Actor): Promise<Outcome[]> {
  return db.transaction(async (trx) => {
    const selected = await Selected.lock(trx, ids);
    selected.skip(isActor(actor.id));
    const sessions = await countByUser(trx, 'sessions', selected.todoIds, (q) => q.where('expires', '>', new Date()));
    selected.skip((user) => (sessions.get(user.id) ? undefined : SKIPPED.noSessions));
    const todo = selected.todo;
    if (todo.length) {
      await trx('sessions').whereIn('user_id', idsOf(todo)).delete();
      await recordEvents(
        trx,
        todo.map((user) => {
          const count = sessions.get(user.id)!;
          return actorEvent('model_deleted', actor, 'roster.directory', {
            model: { app: 'roster.directory', model_name: 'authenticated_session', name: `${count} of ${user.username}` },
            user: user.username,
            count,
          });
        }),
      );
    }
    return selected.outcomes();
  });
}
