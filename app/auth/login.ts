import type { Db } from '../db.js';
import { findCredentials, recordLogin } from '../directory/users/users.js';
import { recordEvent } from '../events/events.js';
import { verifyPassword } from './passwords.js';

export type LoginResult = { ok: true; userId: number } | { ok: false };

/**
 * Checks a username and password. Unknown users, users without a usable password and inactive users
 * are refused the same way and in about the same time as a wrong password.
 */
export async function authenticate(db: Db, username: string, password: string, rounds: number, clientIp?: string): Promise<LoginResult> {
  const user = await findCredentials(db, username);
  const matches = await verifyPassword(password, user?.password, rounds);
  if (!user || !matches || !user.is_active) {
    const reason = !user ? 'unknown_user' : !matches ? 'wrong_password' : 'inactive';
    await recordEvent(db, { action: 'login_failed', user: user ?? null, app: 'roster.auth', context: { username, reason }, clientIp });
    return { ok: false };
  }
  await recordLogin(db, user.id);
  await recordEvent(db, { action: 'login', user, app: 'roster.auth', context: { method: 'password' }, clientIp });
  return { ok: true, userId: user.id };
}
