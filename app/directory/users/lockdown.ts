import type { Db } from '../../db.js';
import { type Actor, actorEvent, recordEvents } from '../../events/events.js';
import { lockSuperuserGroups } from '../groups/groups.js';
import { countByUser, type Outcome, Selected, SKIPPED } from './bulk/writes.js';
import { restampTerms } from './terms.js';
import { endAccess, modelRef } from './users.js';

/** OAuth artifacts that let an application act for the user (what deactivating revokes too). */
const OAUTH_TOKENS = ['RefreshToken', 'AccessToken', 'AuthorizationCode'];

/**
 * Account lockdown, for an account that is (or may be) in the wrong hands: each user is
 * deactivated, and everything that could let anyone back in, now or once they are activated again,
 * is taken away:
 * - the password becomes unusable (the person sets a new one through a recovery link);
 * - every session ends, on every process, at its next request;
 * - every OAuth token, grant and consent goes: an application allowed while the account was
 *   someone else's must ask again;
 * - their API tokens are revoked, and recovery links not yet used stop working.
 * MFA devices stay: they are the person's, and help them prove who they are when the account is
 * given back. Never the acting administrator, never the last active administrator; a user with
 * nothing left to take away is skipped. One transaction for any number of users, a statement per
 * kind of change, and a `user_lockdown` event per user with the reason and what was revoked.
 */
export async function lockDown(db: Db, ids: number[], reason: string, actor: Actor): Promise<Outcome[]> {
  return db.transaction(async (trx) => {
    await lockSuperuserGroups(trx);
    const selected = await Selected.lock(trx, ids);
    await selected.spareAdministrators(trx, actor);
    const now = new Date();
    const candidates = selected.todoIds;
    const counts = {
      sessions: await countByUser(trx, 'sessions', candidates, (q) => q.where('expires', '>', now)),
      oauth_tokens: await countByUser(trx, 'oauth_artifacts', candidates, (q) => q.whereIn('kind', OAUTH_TOKENS)),
      consents: await countByUser(trx, 'consents', candidates),
      api_tokens: await countByUser(trx, 'api_tokens', candidates, (q) => q.whereNull('revoked')),
      recovery_links: await countByUser(trx, 'recovery_tokens', candidates, (q) => q.whereNull('used_at').where('expires', '>', now)),
    };
    const revoked = (id: number) =>
      Object.fromEntries(Object.entries(counts).map(([kind, perUser]) => [kind, perUser.get(id) ?? 0])) as Record<
        keyof typeof counts,
        number
      >;
    selected.skip((user) =>
      !user.isActive && !user.hasPassword && Object.values(revoked(user.id)).every((n) => n === 0) ? SKIPPED.lockedDown : undefined,
    );
    const todo = selected.todo;
    if (todo.length) {
      const locked = todo.map((u) => u.id);
      await trx('users').whereIn('id', locked).update({ is_active: false, password: null, last_updated: now });
      await restampTerms(trx, locked, { is_active: false });
      // As deactivating: sessions and OAuth tokens end, and an active administrator must remain.
      await endAccess(trx, locked);
      // What deactivating keeps for the user's return.
      await trx('oauth_artifacts').whereIn('user_id', locked).delete();
      await trx('consents').whereIn('user_id', locked).delete();
      await trx('api_tokens').whereIn('user_id', locked).whereNull('revoked').update({ revoked: now });
      await trx('recovery_tokens').whereIn('user_id', locked).whereNull('used_at').delete();
      await recordEvents(
        trx,
        todo.map((user) =>
          actorEvent('user_lockdown', actor, 'roster.directory', {
            model: modelRef(user),
            reason,
            deactivated: user.isActive,
            password_removed: user.hasPassword,
            revoked: revoked(user.id),
          }),
        ),
      );
    }
    return selected.outcomes();
  });
}
