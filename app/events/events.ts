import type { Db } from '../db.js';

export const EVENT_ACTIONS = [
  'login', 'login_failed', 'logout', 'user_write', 'password_set', 'model_created', 'model_updated',
  'model_deleted', 'authorize_application', 'email_sent', 'suspicious_request', 'secret_view',
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

export function snapshot(user: { id: number; username: string; email: string }): EventUser {
  return { pk: user.id, username: user.username, email: user.email };
}

export async function recordEvent(db: Db, event: NewEvent): Promise<void> {
  await db('events').insert({
    action: event.action,
    user_pk: event.user?.id ?? null,
    user: JSON.stringify(event.user ? snapshot(event.user) : {}),
    app: event.app,
    context: JSON.stringify(event.context ?? {}),
    client_ip: event.clientIp ?? null,
    created: new Date(),
  });
}
