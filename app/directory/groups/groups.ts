import { randomUUID } from 'node:crypto';
import type { Db } from '../../db.js';
import { isUniqueViolation } from '../../db.js';

/** The id of the group with this name, creating it when it does not exist. */
export async function ensureGroup(db: Db, name: string, isSuperuser: boolean): Promise<number> {
  const existing = await db('groups').where({ name }).first('id');
  if (existing) return existing.id;
  const now = new Date();
  try {
    const [id] = await db('groups').insert({
      uuid: randomUUID(), name, is_superuser: isSuperuser, attributes: '{}', created: now, last_updated: now,
    });
    return Number(id);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return (await db('groups').where({ name }).first('id'))!.id;
  }
}

export async function addMember(db: Db, groupId: number, userId: number): Promise<void> {
  await db('group_memberships').insert({ group_id: groupId, user_id: userId }).onConflict(['user_id', 'group_id']).ignore();
}

/** Whether some active member of a superuser group can log in with a password. */
export async function hasUsableSuperuser(db: Db): Promise<boolean> {
  const row = await db('users')
    .join('group_memberships', 'group_memberships.user_id', 'users.id')
    .join('groups', 'groups.id', 'group_memberships.group_id')
    .where('groups.is_superuser', true)
    .where('users.is_active', true)
    .whereNotNull('users.password')
    .first('users.id');
  return Boolean(row);
}
