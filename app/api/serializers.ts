import type { Db } from '../db.js';
import type { Group } from '../directory/groups/groups.js';
import type { User } from '../directory/users/users.js';

/** Users as authentik's API shows them (snake_case, ISO dates), with their groups in one query. */
export async function serializeUsers(db: Db, users: User[]) {
  const ids = users.map((u) => u.id);
  const rows = ids.length
    ? await db('group_memberships')
        .join('groups', 'groups.id', 'group_memberships.group_id')
        .whereIn('group_memberships.user_id', ids)
        .select('group_memberships.user_id', 'groups.id', 'groups.uuid', 'groups.name', 'groups.is_superuser', 'groups.attributes')
    : [];
  return users.map((u) => {
    const groups = rows.filter((r) => r.user_id === u.id);
    return {
      pk: u.id,
      username: u.username,
      name: u.name,
      is_active: u.isActive,
      last_login: u.lastLogin?.toISOString() ?? null,
      date_joined: u.dateJoined.toISOString(),
      is_superuser: groups.some((g) => Boolean(g.is_superuser)),
      groups: groups.map((g) => g.uuid),
      groups_obj: groups.map((g) => ({
        pk: g.uuid,
        num_pk: g.id,
        name: g.name,
        is_superuser: Boolean(g.is_superuser),
        attributes: JSON.parse(g.attributes),
      })),
      roles: [],
      roles_obj: [],
      email: u.email,
      avatar: '',
      attributes: u.attributes,
      uid: u.uuid,
      path: u.path,
      type: u.type,
      uuid: u.uuid,
      password_change_date: (u.passwordChangeDate ?? u.dateJoined).toISOString(),
      last_updated: u.lastUpdated.toISOString(),
      valid_until: u.validUntil?.toISOString() ?? null,
    };
  });
}

export function serializeGroup(group: Group & { uuid: string }, users: number[]) {
  return {
    pk: group.uuid,
    num_pk: group.id,
    name: group.name,
    is_superuser: group.isSuperuser,
    parents: [],
    parents_obj: [],
    users,
    users_obj: null,
    attributes: group.attributes,
    roles: [],
    roles_obj: [],
    children: [],
    children_obj: null,
    inherited_roles_obj: null,
  };
}
