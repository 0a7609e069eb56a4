import type { Db } from '../../../db.js';
import { isUniqueViolation } from '../../../db.js';

/**
 * Takes the lease `name` for `holder` until now + ttl, or renews it: one statement that succeeds
 * only when the lease is free, expired or the holder's own, so that of processes asking at once
 * exactly one gets it. The first time, there is no row yet: the insert's primary key decides.
 * Times are the processes' clocks, which must agree to well within the ttl (NTP).
 */
export async function takeLease(db: Db, name: string, holder: string, now: Date, ttlMs: number): Promise<boolean> {
  const expires = new Date(now.getTime() + ttlMs);
  const taken = await db('leases')
    .where({ name })
    .where((q) => q.where({ holder }).orWhere('expires', '<=', now))
    .update({ holder, expires });
  if (taken) return true;
  try {
    await db('leases').insert({ name, holder, expires });
    return true;
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
}

/** Gives the lease up (on shutdown), so that another process takes it at its next tick rather than after the ttl. */
export async function releaseLease(db: Db, name: string, holder: string, now = new Date()): Promise<void> {
  await db('leases').where({ name, holder }).update({ expires: now });
}
