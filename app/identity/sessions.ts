import type { Knex } from 'knex';
import { UAParser } from 'ua-parser-js';
import type { Db } from '../db.js';
import { deleteSelected, toDate } from '../db.js';
import { type Actor, actorEvent, recordEvent } from '../events/events.js';

export interface SessionInfo {
  id: number;
  device: string;
  ip: string | null;
  created: Date;
  lastUsed: Date;
  expires: Date;
  /** The session of the administrator looking at the list. */
  current: boolean;
}

/** "Firefox 130 on Linux", from a user agent string. */
export function describeAgent(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device';
  const { browser, os, device } = new UAParser(userAgent).getResult();
  const name = browser.name ? `${browser.name}${browser.major ? ` ${browser.major}` : ''}` : 'Unknown browser';
  const system = [device.vendor, device.model].filter(Boolean).join(' ') || os.name;
  return system ? `${name} on ${system}` : name;
}

export interface SessionQuery {
  /** Keyset position: sessions used before this one (newest first). */
  after?: { lastUsed: Date; id: number };
  ids?: number[];
  limit?: number;
}

/** A user's active sessions, most recently used first, a page at a time. */
export async function listSessions(db: Knex, userId: number, currentSid?: string, query: SessionQuery = {}): Promise<SessionInfo[]> {
  const { after, ids, limit = 50 } = query;
  const rows = await db('sessions')
    .where({ user_id: userId })
    .where('expires', '>', new Date())
    .modify((q) => {
      if (ids) q.whereIn('id', ids);
      if (after)
        q.where((w) =>
          w.where('last_used', '<', after.lastUsed).orWhere((same) => same.where('last_used', after.lastUsed).where('id', '<', after.id)),
        );
    })
    .orderBy([
      { column: 'last_used', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(ids ? ids.length : limit)
    .select('id', 'sid', 'last_ip', 'last_user_agent', 'created', 'last_used', 'expires');
  // Parsing a user agent is slow and a user's sessions mostly share a few: once per string.
  const devices = new Map<string | null, string>();
  const device = (agent: string | null) => devices.get(agent) ?? devices.set(agent, describeAgent(agent)).get(agent)!;
  return rows.map(
    (row: {
      id: number;
      sid: string;
      last_ip: string | null;
      last_user_agent: string | null;
      created: Date;
      last_used: Date;
      expires: Date;
    }) => ({
      id: row.id,
      device: device(row.last_user_agent),
      ip: row.last_ip,
      created: toDate(row.created)!,
      lastUsed: toDate(row.last_used)!,
      expires: toDate(row.expires)!,
      current: row.sid === currentSid,
    }),
  );
}

/** Which of these ids are sessions of the user: what a delete may act on. */
export async function sessionIdsOf(db: Db, userId: number, ids: number[]): Promise<number[]> {
  return db('sessions').where({ user_id: userId }).whereIn('id', ids).pluck('id');
}

/** The user a session belongs to, for a request that names only the session. */
export async function sessionOwner(db: Db, id: number): Promise<{ id: number; username: string } | undefined> {
  return db('sessions').join('users', 'users.id', 'sessions.user_id').where('sessions.id', id).first('users.id', 'users.username');
}

/**
 * Ends sessions of the user: each ends at its next request, on every app process. Returns the ids
 * this call deleted, and records them in one event; none (another request ended them first) records
 * nothing.
 */
export async function deleteSessions(db: Db, user: { id: number; username: string }, ids: number[], actor: Actor): Promise<number[]> {
  return db.transaction(async (trx) => {
    const deleted = await deleteSelected<number>(trx('sessions').where({ user_id: user.id }).whereIn('id', ids), 'id');
    if (deleted.length) {
      await recordEvent(
        trx,
        actorEvent('model_deleted', actor, 'roster.directory', {
          model: { app: 'roster.directory', model_name: 'authenticated_session', name: `${deleted.length} of ${user.username}` },
          user: user.username,
          count: deleted.length,
        }),
      );
    }
    return deleted;
  });
}
