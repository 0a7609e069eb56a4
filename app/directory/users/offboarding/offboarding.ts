import type { Db, ScheduledActionRow } from '../../../db.js';
import { throughIndex, toDate } from '../../../db.js';
import { RuleError } from '../../../errors.js';
import { type Actor, actorEvent, recordEvents } from '../../../events/events.js';
import { formatDateTime } from '../../../http/view-helpers.js';
import { nameProblem } from '../../../identity/names.js';
import { SKIPPED } from '../bulk/writes.js';
import { modelRef, toUser, type User } from '../users.js';

/** What a scheduled action does, with the word the form shows for it. */
export const OFFBOARDING_ACTIONS = { deactivate: 'Deactivate', delete: 'Delete' } as const;
export type OffboardingAction = keyof typeof OFFBOARDING_ACTIONS;
const NOUNS: Record<OffboardingAction, string> = { deactivate: 'deactivation', delete: 'deletion' };

export const IDLE_DAYS_MAX = 3650;
export const REASON_MAX = 200;
const DAY_MS = 86_400_000;
/** DATETIME holds years up to 9999 on MariaDB. */
const LATEST = Date.UTC(10000, 0, 1);
const APP = 'roster.directory';

/** What an administrator asks for: deactivate or delete, at a time or after days without login. */
export interface OffboardingSpec {
  action: OffboardingAction;
  when: { at: Date } | { idleDays: number };
  reason: string;
}

export interface ScheduledAction {
  id: number;
  userId: number;
  action: OffboardingAction;
  runAt: Date | null;
  idleDays: number | null;
  /** When the scheduler looks at it next (for an idle rule, the earliest it can come due). */
  due: Date;
  reason: string;
  createdBy: { id: number | null; username: string };
  created: Date;
  state: 'pending' | 'failed';
  failure: string | null;
  failedAt: Date | null;
}

/** A scheduled action with the user it is about, for lists. */
export type ListedAction = ScheduledAction & { username: string; name: string };

export function toScheduledAction(row: ScheduledActionRow): ScheduledAction {
  return {
    id: row.id,
    userId: row.user_id,
    action: row.action as OffboardingAction,
    runAt: toDate(row.run_at),
    idleDays: row.idle_days,
    due: toDate(row.due)!,
    reason: row.reason,
    createdBy: { id: row.created_by_id, username: row.created_by_name },
    created: toDate(row.created)!,
    state: row.state === 'failed' ? 'failed' : 'pending',
    failure: row.failure,
    failedAt: toDate(row.failed_at),
  };
}

/**
 * The actions with their users, read in a second statement by primary key: a join could lead
 * MariaDB to walk the users instead of the actions' index. An action whose user was deleted
 * meanwhile went with them, and is left out.
 */
async function withUsers(db: Db, rows: ScheduledActionRow[]): Promise<ListedAction[]> {
  if (!rows.length) return [];
  const users = new Map(
    (
      await db('users')
        .whereIn(
          'id',
          rows.map((r) => r.user_id),
        )
        .select('id', 'username', 'name')
    ).map((u) => [u.id, u]),
  );
  return rows.flatMap((row) => {
    const user = users.get(row.user_id);
    return user ? [{ ...toScheduledAction(row), username: user.username, name: user.name }] : [];
  });
}

type Describable = Pick<ScheduledAction, 'action' | 'runAt' | 'idleDays'>;

/** "deactivation on 5 Dec 2026, 17:00 UTC", "deletion of ana after 90 days without login". */
export function describeScheduled(action: Describable, username?: string): string {
  const when = action.runAt
    ? `on ${formatDateTime(action.runAt)}`
    : `after ${action.idleDays} ${action.idleDays === 1 ? 'day' : 'days'} without login`;
  return `${NOUNS[action.action]}${username === undefined ? '' : ` of ${username}`} ${when}`;
}

/** A spec as the scheduled action it becomes, to describe it. */
export function asScheduled(spec: OffboardingSpec): Describable {
  return 'at' in spec.when
    ? { action: spec.action, runAt: spec.when.at, idleDays: null }
    : { action: spec.action, runAt: null, idleDays: spec.when.idleDays };
}

/** The earliest an idle rule can come due: the last login (or, never logged in, when they joined) plus the days. */
export function idleDue(user: Pick<User, 'lastLogin' | 'dateJoined'>, days: number): Date {
  return new Date((user.lastLogin ?? user.dateJoined).getTime() + days * DAY_MS);
}

/** What is wrong with a spec, by the form field that says it; empty when nothing is. */
export function specProblems(spec: OffboardingSpec, now: Date): Partial<Record<'action' | 'run_at' | 'idle_days' | 'reason', string>> {
  const problems: Partial<Record<'action' | 'run_at' | 'idle_days' | 'reason', string>> = {};
  if (!Object.hasOwn(OFFBOARDING_ACTIONS, spec.action)) problems.action = 'Choose deactivate or delete';
  if ('at' in spec.when) {
    const at = spec.when.at.getTime();
    if (!(at > now.getTime())) problems.run_at = 'Choose a time in the future';
    else if (at >= LATEST) problems.run_at = 'Choose a time before the year 10000';
  } else if (!Number.isInteger(spec.when.idleDays) || spec.when.idleDays < 1 || spec.when.idleDays > IDLE_DAYS_MAX) {
    problems.idle_days = `Enter a whole number of days from 1 to ${IDLE_DAYS_MAX}`;
  }
  const reason = spec.reason.length > REASON_MAX ? `Use at most ${REASON_MAX} characters` : spec.reason && nameProblem(spec.reason);
  if (reason) problems.reason = reason;
  return problems;
}

export const SELF_OFFBOARDING = 'You cannot schedule your own deactivation or deletion';

/** Why this user is not scheduled, or undefined. The rules of the pages: not oneself; no deactivating the deactivated. */
function skipReason(user: User, spec: OffboardingSpec, actor: Actor): string | undefined {
  if (user.id === actor.id) return SELF_OFFBOARDING;
  if (spec.action === 'deactivate' && !user.isActive) return `${user.username} is deactivated already`;
  return undefined;
}

/** The same action is pending already (a double submit): nothing to change, nothing to record. */
function isPending(row: ScheduledActionRow, spec: OffboardingSpec): boolean {
  const action = toScheduledAction(row);
  const sameTime = 'at' in spec.when ? action.runAt?.getTime() === spec.when.at.getTime() : action.idleDays === spec.when.idleDays;
  return action.state === 'pending' && action.action === spec.action && sameTime && action.reason === spec.reason;
}

/** What an event says about a scheduled action: what, when, why, and who scheduled it when. */
export function actionContext(action: ScheduledAction) {
  return {
    id: action.id,
    action: action.action,
    ...(action.runAt ? { run_at: action.runAt.toISOString() } : { idle_days: action.idleDays }),
    reason: action.reason,
    scheduled_by: { pk: action.createdBy.id, username: action.createdBy.username },
    scheduled: action.created.toISOString(),
  };
}

export type ScheduleResult =
  | { userId: number; username: string; outcome: 'scheduled' | 'replaced' }
  | { userId: number; username: string | null; outcome: 'skipped'; why: string };

/** Ids per statement; the rows of one insert stay under SQLite's 500. */
const CHUNK = 400;

function chunks<T>(items: T[]): T[][] {
  return Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) => items.slice(i * CHUNK, (i + 1) * CHUNK));
}

/**
 * Schedules the same offboarding for each of the users, in one transaction, and says per user what
 * happened: scheduled, replaced (a user has at most one scheduled action: a new one takes the place
 * of the old, pending or failed), or skipped and why. One offboarding_scheduled event per change.
 * Throws RuleError when the spec itself is refused (a time in the past…).
 */
export async function scheduleOffboarding(
  db: Db,
  userIds: number[],
  spec: OffboardingSpec,
  actor: Actor,
  now = new Date(),
): Promise<ScheduleResult[]> {
  const problem = Object.values(specProblems(spec, now))[0];
  if (problem) throw new RuleError(`${problem}.`);
  const ids = [...new Set(userIds)];
  return db.transaction(async (trx) => {
    // Every user's row first, locked, before anything else is read: scheduling for a user and
    // running their action (which locks the user before the action) take turns, and a double
    // submit's second request reads the first one's row. The unique index on user_id keeps it to one
    // row per user whatever happens.
    const users = new Map<number, User>();
    for (const chunk of chunks(ids))
      for (const row of await trx('users').whereIn('id', chunk).orderBy('id').forUpdate()) users.set(row.id, toUser(row));
    const existing = new Map<number, ScheduledActionRow>();
    for (const chunk of chunks([...users.keys()]))
      for (const row of await trx('scheduled_actions').whereIn('user_id', chunk)) existing.set(row.user_id, row);

    const results: ScheduleResult[] = [];
    const replaced: ScheduledActionRow[] = [];
    const rows: Omit<ScheduledActionRow, 'id'>[] = [];
    for (const id of ids) {
      const user = users.get(id);
      const why = user ? skipReason(user, spec, actor) : SKIPPED.gone;
      if (!user || why) {
        results.push({ userId: id, username: user?.username ?? null, outcome: 'skipped', why: why! });
        continue;
      }
      const old = existing.get(id);
      const same = old && isPending(old, spec);
      results.push({ userId: id, username: user.username, outcome: old && !same ? 'replaced' : 'scheduled' });
      if (same) continue;
      if (old) replaced.push(old);
      rows.push(newRow(user, spec, actor, now));
    }
    for (const chunk of chunks(replaced))
      await trx('scheduled_actions')
        .whereIn(
          'id',
          chunk.map((r) => r.id),
        )
        .delete();
    for (const chunk of chunks(rows)) await trx('scheduled_actions').insert(chunk);

    const before = new Map(replaced.map((r) => [r.user_id, toScheduledAction(r)]));
    for (const chunk of chunks(rows.map((r) => r.user_id))) {
      const saved = await trx('scheduled_actions').whereIn('user_id', chunk);
      await recordEvents(
        trx,
        saved.map((row) => {
          const old = before.get(row.user_id);
          return actorEvent('offboarding_scheduled', actor, APP, {
            model: modelRef(users.get(row.user_id)!),
            scheduled_action: actionContext(toScheduledAction(row)),
            ...(old ? { replaced: actionContext(old) } : {}),
          });
        }),
      );
    }
    return results;
  });
}

function newRow(user: User, spec: OffboardingSpec, actor: Actor, now: Date): Omit<ScheduledActionRow, 'id'> {
  const at = 'at' in spec.when ? spec.when.at : null;
  const idleDays = 'at' in spec.when ? null : spec.when.idleDays;
  return {
    user_id: user.id,
    action: spec.action,
    run_at: at,
    idle_days: idleDays,
    due: at ?? idleDue(user, idleDays!),
    reason: spec.reason,
    created_by_id: actor.id || null, // the system has no user id
    created_by_name: actor.username,
    created: now,
    state: 'pending',
    failure: null,
    failed_at: null,
  };
}

/**
 * Cancels scheduled actions (pending, or failed ones the administrator has seen); returns those this
 * transaction removed, with their users, and records one offboarding_cancelled event for each.
 */
export async function cancelScheduled(db: Db, ids: number[], actor: Actor): Promise<ListedAction[]> {
  if (!ids.length) return [];
  return db.transaction(async (trx) => {
    // Locked, so that of two requests cancelling the same action one removes it and records it.
    const rows = await trx('scheduled_actions').whereIn('id', ids).forUpdate();
    if (!rows.length) return [];
    await trx('scheduled_actions')
      .whereIn(
        'id',
        rows.map((r) => r.id),
      )
      .delete();
    const cancelled = await withUsers(trx, rows);
    await recordEvents(
      trx,
      cancelled.map((action) =>
        actorEvent('offboarding_cancelled', actor, APP, {
          model: modelRef({ id: action.userId, username: action.username }),
          scheduled_action: actionContext(action),
        }),
      ),
    );
    return cancelled;
  });
}

/** The user's scheduled action (pending or failed), if any. */
export async function scheduledFor(db: Db, userId: number): Promise<ScheduledAction | null> {
  const row = await db('scheduled_actions').where({ user_id: userId }).first();
  return row ? toScheduledAction(row) : null;
}

/** Scheduled actions by id, with their users, for a review. */
export async function findScheduled(db: Db, ids: number[]): Promise<ListedAction[]> {
  if (!ids.length) return [];
  return withUsers(db, await db('scheduled_actions').whereIn('id', ids).orderBy(['due', 'id']));
}

/** A place in the list, by due time then id: "<due in ms>.<id>". */
export interface ListCursor {
  due: Date;
  id: number;
}

export function parseCursor(text: string): ListCursor | null {
  const match = /^(\d{1,15})\.(\d{1,10})$/.exec(text);
  return match && Number(match[1]) < LATEST ? { due: new Date(Number(match[1])), id: Number(match[2]) } : null;
}

export function cursorOf(action: ScheduledAction): string {
  return `${action.due.getTime()}.${action.id}`;
}

/**
 * A page of every scheduled action (pending and failed) by due time, soonest first or last, by
 * keyset on (due, id): the index on due reads the page wherever it is.
 */
export async function listScheduled(
  db: Db,
  options: { descending: boolean; after: ListCursor | null },
  pageSize = 50,
): Promise<{ actions: ListedAction[]; next: string | null }> {
  const order = options.descending ? 'desc' : 'asc';
  const query = db.from(throughIndex(db, 'scheduled_actions', 'scheduled_actions_due'));
  const after = options.after;
  if (after) {
    const beyond = options.descending ? '<' : '>';
    // The range on due alone first, so that MariaDB reads the index from the cursor on.
    query
      .where('due', options.descending ? '<=' : '>=', after.due)
      .where((q) => q.where('due', beyond, after.due).orWhere('id', beyond, after.id));
  }
  const rows = await query
    .orderBy([
      { column: 'due', order },
      { column: 'id', order },
    ])
    .limit(pageSize + 1);
  const page = rows.slice(0, pageSize);
  return {
    actions: await withUsers(db, page),
    next: rows.length > pageSize ? cursorOf(toScheduledAction(page[page.length - 1])) : null,
  };
}
