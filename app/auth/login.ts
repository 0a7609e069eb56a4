import type { Request } from 'express';
import { type Db, toDate } from '../db.js';
import { recordEvent } from '../events/events.js';
import { markSeen } from '../http/sessions.js';
import { findCredentials, mayUse, recordLogin } from '../identity/identity.js';
import { verifyPassword } from './passwords.js';

export type LoginResult = { ok: true; userId: number } | { ok: false };

/**
 * Checks a username and password. Unknown users, users without a usable password, inactive and expired users
 * are refused the same way and in about the same time as a wrong password. Failures are recorded;
 * success is recorded by completeLogin, once every factor has been checked.
 */
export async function authenticate(db: Db, username: string, password: string, rounds: number, clientIp?: string): Promise<LoginResult> {
  const user = await findCredentials(db, username);
  const matches = await verifyPassword(password, user?.password, rounds);
  if (!user || !matches || !mayUse({ isActive: Boolean(user.is_active), validUntil: toDate(user.valid_until) })) {
    const reason = !user ? 'unknown_user' : !matches ? 'wrong_password' : user.is_active ? 'expired' : 'inactive';
    await recordEvent(db, { action: 'login_failed', user: user ?? null, app: 'roster.auth', context: { username, reason }, clientIp });
    return { ok: false };
  }
  return { ok: true, userId: user.id };
}

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

/** Signs the user in: a new session id, the session row's user, last login and a `login` event. */
export async function completeLogin(req: Request, db: Db, userId: number, method: string): Promise<void> {
  await regenerate(req);
  req.session.userId = userId;
  markSeen(req);
  await recordLogin(db, userId);
  const user = await db('users').where({ id: userId }).first('id', 'username', 'email');
  await recordEvent(db, { action: 'login', user, app: 'roster.auth', context: { method }, clientIp: req.ip });
}
