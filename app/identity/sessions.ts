import type { Knex } from 'knex';
import { UAParser } from 'ua-parser-js';
import { toDate } from '../db.js';

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
      if (after) q.where((w) => w.where('last_used', '<', after.lastUsed).orWhere((same) => same.where('last_used', after.lastUsed).where('id', '<', after.id)));
    })
    .orderBy([{ column: 'last_used', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(ids ? ids.length : limit)
    .select('id', 'sid', 'last_ip', 'last_user_agent', 'created', 'last_used', 'expires');
  // Parsing a user agent is slow and a user's sessions mostly share a few: once per string.
  const devices = new Map<string | null, string>();
  const device = (agent: string | null) => devices.get(agent) ?? devices.set(agent, describeAgent(agent)).get(agent)!;
  return rows.map((row: { id: number; sid: string; last_ip: string | null; last_user_agent: string | null; created: Date; last_used: Date; expires: Date }) => ({
    id: row.id,
    device: device(row.last_user_agent),
    ip: row.last_ip,
    created: toDate(row.created)!,
    lastUsed: toDate(row.last_used)!,
    expires: toDate(row.expires)!,
    current: row.sid === currentSid,
  }));
}
