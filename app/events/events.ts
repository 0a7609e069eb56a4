import type { Db, EventRow } from '../db.js';
import { toDate } from '../db.js';

export const EVENT_ACTIONS = [
  'login',
  'login_failed',
  'user_locked',
  'user_unlocked',
  'logout',
  'user_write',
  'password_set',
  'model_created',
  'model_updated',
  'model_deleted',
  'authorize_application',
  'email_sent',
  'suspicious_request',
  'secret_view',
  'offboarding_scheduled',
  'offboarding_cancelled',
  'user_lockdown',
] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];

/** The user as they were when the event happened; kept after the user is deleted. */
export interface EventUser {
  pk: number;
  username: string;
  email: string;
}

export interface NewEvent {
  action: EventAction;
  user?: { id: number; username: string; email: string } | null;
  app: string;
  context?: Record<string, unknown>;
  clientIp?: string | null;
}

/** Who acts, for events: the signed-in administrator and their client IP, or Roster itself (systemActor). */
export interface Actor {
  id: number;
  username: string;
  email: string;
  ip?: string;
  /** Roster acting by itself: why, for the context of each event (the scheduled action and who asked for it). */
  task?: Record<string, unknown>;
  /** How the actor came: a provisioning token and its client (SCIM), for the context of each event. */
  via?: Record<string, unknown>;
}

/**
 * Roster itself, doing what an administrator asked for earlier (a scheduled offboarding). No user
 * has id 0, so the rules that compare the actor with a user ("not yourself") never match it, and
 * its events name no user: their context says who acts and why.
 */
export function systemActor(task: Record<string, unknown>): Actor {
  return { id: 0, username: 'system', email: '', task };
}

/** An event of something an actor did, as every model write records it: who, from where, in which app. */
export function actorEvent(action: EventAction, actor: Actor, app: string, context: Record<string, unknown>): NewEvent {
  if (actor.task) return { action, user: null, app, context: { ...context, actor: 'system', ...actor.task } };
  return { action, user: actor, app, clientIp: actor.ip, context: actor.via ? { ...context, via: actor.via } : context };
}

export function snapshot(user: { id: number; username: string; email: string }): EventUser {
  return { pk: user.id, username: user.username, email: user.email };
}

function toRow(event: NewEvent, created: Date) {
  return {
    action: event.action,
    user_pk: event.user?.id ?? null,
    user: JSON.stringify(event.user ? snapshot(event.user) : {}),
    app: event.app,
    context: JSON.stringify(event.context ?? {}),
    client_ip: event.clientIp ?? null,
    created,
  };
}

export async function recordEvent(db: Db, event: NewEvent): Promise<void> {
  await db('events').insert(toRow(event, new Date()));
}

/** Many events in few statements (one per 400 rows: SQLite's limit on a multi-row insert). */
export async function recordEvents(db: Db, events: NewEvent[]): Promise<void> {
  const created = new Date();
  const rows = events.map((event) => toRow(event, created));
  for (let i = 0; i < rows.length; i += 400) await db('events').insert(rows.slice(i, i + 400));
}

export interface Event {
  id: number;
  action: string;
  user: Partial<EventUser>;
  app: string;
  context: Record<string, unknown>;
  clientIp: string | null;
  created: Date;
}

function toEvent(row: EventRow): Event {
  return {
    id: Number(row.id),
    action: row.action,
    user: JSON.parse(row.user || '{}'),
    app: row.app,
    context: JSON.parse(row.context || '{}'),
    clientIp: row.client_ip,
    created: toDate(row.created)!,
  };
}

export async function recentEvents(db: Db, userPk: number, limit = 5): Promise<Event[]> {
  const rows = await db('events')
    .where({ user_pk: userPk })
    .orderBy([
      { column: 'created', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(limit);
  return rows.map(toEvent);
}

export interface EventFilter {
  userPk: number;
  action?: EventAction;
  from?: Date;
  /** Exclusive upper bound. */
  until?: Date;
  /** Keyset position (created, id): read older events ('before') or newer ones ('after'). */
  cursor?: { created: Date; id: number; direction: 'before' | 'after' };
}

/**
 * One page of a user's events, newest first, by keyset on (created, id) in either direction.
 * `older`/`newer` say whether there is more beyond the page on each side.
 */
export async function searchEvents(
  db: Db,
  filter: EventFilter,
  pageSize = 50,
): Promise<{ events: Event[]; older: boolean; newer: boolean }> {
  const query = db('events').where({ user_pk: filter.userPk });
  if (filter.action) query.where({ action: filter.action });
  if (filter.from) query.where('created', '>=', filter.from);
  if (filter.until) query.where('created', '<', filter.until);
  const cursor = filter.cursor;
  const newerFirst = cursor?.direction !== 'after';
  if (cursor) {
    const cmp = newerFirst ? '<' : '>';
    query.where((q) =>
      q.where('created', cmp, cursor.created).orWhere((same) => same.where('created', cursor.created).where('id', cmp, cursor.id)),
    );
  }
  const order = newerFirst ? 'desc' : 'asc';
  const rows = await query
    .orderBy([
      { column: 'created', order },
      { column: 'id', order },
    ])
    .limit(pageSize + 1);
  const events = rows.slice(0, pageSize).map(toEvent);
  const more = rows.length > pageSize;
  if (!newerFirst) events.reverse();
  return { events, older: newerFirst ? more : true, newer: newerFirst ? Boolean(cursor) : more };
}
