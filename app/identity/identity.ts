import { type Db, toDate } from '../db.js';
import { normalName } from './names.js';

/**
 * Who is signed in: the few columns of a user every request needs, their credentials and the
 * password they set. The directory's user model builds on this; the HTTP layer needs only this.
 */
export interface SessionUser {
  id: number;
  username: string;
  name: string;
  email: string;
  isActive: boolean;
  isAdmin: boolean;
  /** The account is expired from then on (null: never). */
  validUntil: Date | null;
}

/**
 * Whether an account may be used now: active and not expired. Every way in (the login form, a
 * session's next request, an OAuth refresh, an API token) asks this, so an account past its end
 * of validity is refused everywhere as a deactivated one is.
 */
export function mayUse(user: { isActive: boolean; validUntil: Date | null }, now = new Date()): boolean {
  return user.isActive && !(user.validUntil && user.validUntil <= now);
}

const isAdminSql = `exists (select 1 from group_memberships gm join \`groups\` g on g.id = gm.group_id
  where gm.user_id = users.id and g.is_superuser = ?) as is_admin`;

/** The columns of a signed-in user (`users` may be joined to another table), for toSessionUser. */
export function sessionUserColumns(db: Db) {
  return [
    'users.id as signed_in_id',
    'users.username',
    'users.name',
    'users.email',
    'users.is_active',
    'users.valid_until',
    db.raw(isAdminSql, [true]),
  ];
}

/** The signed-in user of a row read with sessionUserColumns; undefined when it names no user. */
export function toSessionUser(row: Record<string, unknown> | undefined): SessionUser | undefined {
  if (!row || row.signed_in_id === null || row.signed_in_id === undefined) return undefined;
  return {
    id: Number(row.signed_in_id),
    username: row.username as string,
    name: row.name as string,
    email: row.email as string,
    isActive: Boolean(row.is_active),
    isAdmin: Boolean(row.is_admin),
    validUntil: toDate(row.valid_until as Date | number | null),
  };
}

export async function findSessionUser(db: Db, id: number): Promise<SessionUser | undefined> {
  return toSessionUser(
    await db('users')
      .where('users.id', id)
      .first(...sessionUserColumns(db)),
  );
}

/** The row with its password hash, for authentication only. */
export function findCredentials(db: Db, username: string) {
  return db('users')
    .where({ username: normalName(username) })
    .first('id', 'username', 'email', 'password', 'is_active', 'valid_until');
}

/** Sets a new password hash and ends the user's sessions (but the one given), in one transaction. */
export async function setPassword(db: Db, userId: number, passwordHash: string, keepSid?: string): Promise<void> {
  await db.transaction(async (trx) => {
    const now = new Date();
    await trx('users').where({ id: userId }).update({ password: passwordHash, password_change_date: now, last_updated: now });
    const sessions = trx('sessions').where({ user_id: userId });
    if (keepSid) sessions.whereNot({ sid: keepSid });
    await sessions.delete();
  });
}

/**
 * The user's last login, `at` now unless said. The users list's search rows (user_terms, written
 * by directory/users/terms.ts) keep a copy, for the order by last login: both change together.
 */
export async function recordLogin(db: Db, userId: number, at = new Date()): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('users').where({ id: userId }).update({ last_login: at });
    await trx('user_terms').where({ user_id: userId }).update({ last_login: at });
  });
}
