import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { isUniqueViolation } from '../db.js';
import { addMember, ensureGroup, hasUsableSuperuser } from '../directory/groups/groups.js';
import { indexUsers } from '../directory/users/terms.js';
import { insertUser } from '../directory/users/users.js';
import { findCredentials, setPassword } from '../identity/identity.js';
import { createRecoveryToken } from '../recovery/tokens.js';
import { hashPassword } from './passwords.js';

export const ADMIN_GROUP = 'Admins';
export const SETUP_LINK_TTL_MS = 60 * 60_000;

/**
 * Makes sure someone can administer Roster. When no active superuser with a password exists, the
 * bootstrap user joins the "Admins" superuser group and gets BOOTSTRAP_PASSWORD; without one, a
 * one-time setup link (valid one hour) is returned for the start-up log.
 */
export async function bootstrap(db: Knex, config: Config): Promise<{ setupLink?: string }> {
  if (await hasUsableSuperuser(db)) return {};
  const { username, password, email } = config.bootstrap;
  const passwordHash = password ? await hashPassword(password, config.bcryptRounds) : null;
  const makeAdmin = () =>
    db.transaction(async (trx) => {
      const groupId = await ensureGroup(trx, ADMIN_GROUP, true);
      const existing = await findCredentials(trx, username);
      const id = existing?.id ?? (await insertUser(trx, { username, name: 'Roster administrator', email, passwordHash }));
      if (existing) {
        await trx('users').where({ id }).update({ is_active: true });
        await indexUsers(trx, [id]);
        if (passwordHash) await setPassword(trx, id, passwordHash);
      }
      await addMember(trx, groupId, id);
      return id;
    });
  // Processes that start together on an empty database race to make the group and the user: the
  // loser's transaction (whose reads do not see the winner's rows) fails on a unique key, and a new
  // one finds them.
  const userId = await makeAdmin().catch((err) => {
    if (!isUniqueViolation(err)) throw err;
    return makeAdmin();
  });
  if (passwordHash) return {};
  const { token } = await createRecoveryToken(db, userId, SETUP_LINK_TTL_MS);
  return { setupLink: `${config.publicUrl}/recovery/${token}` };
}
