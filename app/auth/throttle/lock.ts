import type { Db } from '../../db.js';
import { type Actor, actorEvent, recordEvent } from '../../events/events.js';
import { accountKey } from './rules.js';
import { forgetAccount } from './store.js';

export interface AccountUser {
  id: number;
  username: string;
  email: string;
}

/**
 * Locks the account until then, with the reason admins read. The update only changes an account
 * that is not locked now, so of many requests that cross the threshold at once exactly one locks
 * it, and records `user_locked` in the same transaction.
 */
export async function lockAccount(
  db: Db,
  user: AccountUser,
  lock: { until: Date; reason: string; failures: number; addresses: number },
  clientIp: string | undefined,
  now = new Date(),
): Promise<void> {
  await db.transaction(async (trx) => {
    const locked = await trx('users')
      .where({ id: user.id })
      .where((q) => q.whereNull('locked_until').orWhere('locked_until', '<=', now))
      .update({ locked_until: lock.until, lock_reason: lock.reason });
    if (!locked) return;
    await recordEvent(trx, {
      action: 'user_locked',
      user,
      app: 'roster.auth',
      clientIp,
      context: { reason: lock.reason, until: lock.until.toISOString(), failures: lock.failures, addresses: lock.addresses },
    });
  });
}

/**
 * An administrator lifts the lock: the account's lock and every failure counter about it (its own,
 * each client's, its second-factor step's) are cleared, so its users start afresh. `user_unlocked`
 * is recorded when there was a lock to lift (a double submit records it once). Returns whether it was locked.
 */
export async function unlockAccount(db: Db, user: AccountUser, actor: Actor, now = new Date()): Promise<boolean> {
  return db.transaction(async (trx) => {
    const lifted = await trx('users')
      .where({ id: user.id })
      .where('locked_until', '>', now)
      .update({ locked_until: null, lock_reason: null });
    // A lock that ran out by itself leaves its time and reason behind: clear them too, without an event.
    await trx('users').where({ id: user.id }).whereNotNull('locked_until').update({ locked_until: null, lock_reason: null });
    await forgetAccount(trx, accountKey(user.username));
    if (lifted) {
      const model = { app: 'roster.directory', model_name: 'user', pk: user.id, name: user.username };
      await recordEvent(trx, actorEvent('user_unlocked', actor, 'roster.directory', { model }));
    }
    return lifted === 1;
  });
}
