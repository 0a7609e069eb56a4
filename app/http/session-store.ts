import type { Request } from 'express';
import session from 'express-session';
import type { Knex } from 'knex';
import { isSqlite, toDate } from '../db.js';
import { type SessionUser, sessionUserColumns, toSessionUser } from '../identity/identity.js';
import type { Toast } from './toast.js';

declare module 'express-session' {
  interface SessionData {
    userId?: number;
    /** Where and when this session was last seen; copied into the row's columns on save. */
    seen?: { ip: string; ua: string; at: number };
    flash?: Toast[];
    /** A login whose password was right and whose second factor is still to come. */
    mfa?: { userId: number; next?: string; started: number };
    /** The WebAuthn challenge being answered (registration or login). */
    webauthnChallenge?: string;
  }
}

const LOADED = Symbol('loaded from the store');
const USER = Symbol('the user of the stored session');

/**
 * The user the session row named when this request loaded it (read with the session, so fresh):
 * null for none, undefined when the session did not come from the store.
 */
export function signedInUser(sess: session.Session | undefined): SessionUser | null | undefined {
  return (sess as { [USER]?: SessionUser | null } | undefined)?.[USER];
}
const DAY_MS = 86_400_000;
/** Stands for the session id in the statement that reads a session, built once. */
const SID = '\u0000sid';

/**
 * express-session store with one row per session. The row's user, IP, user agent and times are
 * columns, so a user's sessions can be listed and revoked with plain SQL; a deleted row ends the
 * session at its next request on every process, because nothing is cached.
 */
export class KnexSessionStore extends session.Store {
  private readonly read: { sql: string; bindings: readonly Knex.Value[]; sidAt: number };

  // The session's user comes in the same statement (a join), so a signed-in request reads the
  // database once before its own queries, not twice; loadUser takes it from signedInUser().
  // Every request of a session runs that statement, and Knex takes longer to build it than the
  // database takes to run it: it is built here once, and each request puts in its session id.
  constructor(private readonly db: Knex) {
    super();
    const { sql, bindings } = db('sessions')
      .leftJoin('users', 'users.id', 'sessions.user_id')
      .where('sessions.sid', SID)
      .first('sessions.data', 'sessions.expires', ...sessionUserColumns(db))
      .toSQL();
    this.read = { sql, bindings, sidAt: bindings.indexOf(SID) };
  }

  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    this.db.raw(this.read.sql, this.read.bindings.with(this.read.sidAt, sid)).then((result) => {
      const row = (isSqlite(this.db) ? result : result[0])[0];
      if (!row || toDate(row.expires)!.getTime() <= Date.now()) return callback(null, null);
      const data = JSON.parse(row.data);
      Object.defineProperty(data, USER, { value: toSessionUser(row) ?? null });
      callback(null, data);
    }, callback);
  }

  // Mark sessions that came from the database: saving one must never bring back a row that an
  // administrator deleted while a request of that session was still running.
  override createSession(req: Request, data: session.SessionData): session.Session & session.SessionData {
    const created = super.createSession(req, data);
    Object.defineProperty(created, LOADED, { value: true });
    Object.defineProperty(created, USER, { value: (data as { [USER]?: SessionUser | null })[USER], configurable: true });
    return created;
  }

  override set(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    const now = new Date();
    const columns = {
      user_id: sess.userId ?? null,
      data: JSON.stringify(sess),
      last_ip: sess.seen?.ip ?? null,
      last_user_agent: sess.seen?.ua ?? null,
      last_used: sess.seen ? new Date(sess.seen.at) : now,
      expires: sess.cookie.expires ? new Date(sess.cookie.expires) : new Date(now.getTime() + DAY_MS),
    };
    const write = (sess as { [LOADED]?: boolean })[LOADED]
      ? this.db('sessions').where({ sid }).update(columns)
      : this.db('sessions')
          .insert({ sid, ...columns, created: now } as never)
          .onConflict('sid')
          .merge(Object.keys(columns) as never);
    write.then(
      () => callback?.(),
      (err) => callback?.(err),
    );
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.db('sessions')
      .where({ sid })
      .delete()
      .then(
        () => callback?.(),
        (err) => callback?.(err),
      );
  }
}

/** Deletes expired rows; run now and then by the server, not on requests. */
export function pruneExpiredSessions(db: Knex): Promise<number> {
  return db('sessions').where('expires', '<=', new Date()).delete();
}
