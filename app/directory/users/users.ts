import { randomUUID } from 'node:crypto';
import type { Db, UserRow } from '../../db.js';
import { toDate } from '../../db.js';
import { DEFAULT_PATH, type UserType } from './rules.js';

export interface User {
  id: number;
  uuid: string;
  username: string;
  name: string;
  email: string;
  isActive: boolean;
  path: string;
  type: UserType;
  attributes: Record<string, unknown>;
  hasPassword: boolean;
  passwordChangeDate: Date | null;
  lastLogin: Date | null;
  dateJoined: Date;
  lastUpdated: Date;
}

/** The signed-in user as every request sees them. */
export interface SessionUser {
  id: number;
  username: string;
  name: string;
  email: string;
  isActive: boolean;
  isAdmin: boolean;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    uuid: row.uuid,
    username: row.username,
    name: row.name,
    email: row.email,
    isActive: Boolean(row.is_active),
    path: row.path,
    type: row.type as UserType,
    attributes: JSON.parse(row.attributes || '{}'),
    hasPassword: Boolean(row.password),
    passwordChangeDate: toDate(row.password_change_date),
    lastLogin: toDate(row.last_login),
    dateJoined: toDate(row.date_joined)!,
    lastUpdated: toDate(row.last_updated)!,
  };
}

export async function findById(db: Db, id: number): Promise<User | undefined> {
  const row = await db('users').where({ id }).first();
  return row && toUser(row);
}

/** The row with its password hash, for authentication only. */
export function findCredentials(db: Db, username: string) {
  return db('users').where({ username }).first('id', 'username', 'email', 'password', 'is_active');
}

const isAdminSql = `exists (select 1 from group_memberships gm join \`groups\` g on g.id = gm.group_id
  where gm.user_id = users.id and g.is_superuser = ?) as is_admin`;

export async function findSessionUser(db: Db, id: number): Promise<SessionUser | undefined> {
  const row = await db('users')
    .where({ id })
    .first('id', 'username', 'name', 'email', 'is_active', db.raw(isAdminSql, [true]));
  if (!row) return undefined;
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    email: row.email,
    isActive: Boolean(row.is_active),
    isAdmin: Boolean((row as unknown as { is_admin: unknown }).is_admin),
  };
}

export interface NewUser {
  username: string;
  name?: string;
  email?: string;
  isActive?: boolean;
  path?: string;
  type?: UserType;
  attributes?: Record<string, unknown>;
  passwordHash?: string | null;
}

export async function insertUser(db: Db, user: NewUser): Promise<number> {
  const now = new Date();
  const [id] = await db('users').insert({
    uuid: randomUUID(),
    username: user.username,
    name: user.name ?? '',
    email: user.email ?? '',
    is_active: user.isActive ?? true,
    path: user.path ?? DEFAULT_PATH,
    type: user.type ?? 'internal',
    attributes: JSON.stringify(user.attributes ?? {}),
    password: user.passwordHash ?? null,
    password_change_date: user.passwordHash ? now : null,
    date_joined: now,
    last_updated: now,
  });
  return Number(id);
}

/** Sets a new password hash and ends every session of the user, in one transaction. */
export async function setPassword(db: Db, userId: number, passwordHash: string): Promise<void> {
  await db.transaction(async (trx) => {
    const now = new Date();
    await trx('users').where({ id: userId }).update({ password: passwordHash, password_change_date: now, last_updated: now });
    await trx('sessions').where({ user_id: userId }).delete();
  });
}

export async function recordLogin(db: Db, userId: number): Promise<void> {
  await db('users').where({ id: userId }).update({ last_login: new Date() });
}

export async function listUsers(db: Db, limit = 50): Promise<User[]> {
  const rows = await db('users').orderBy('username').limit(limit);
  return rows.map(toUser);
}
