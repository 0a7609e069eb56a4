import { Router } from 'express';
import type { Knex } from 'knex';
import { unlockAccount } from '../../auth/throttle/lock.js';
import { actorOf } from '../../http/guard.js';
import { isRegion } from '../../http/htmx.js';
import { postedFrom } from '../../http/return-to.js';
import { toast } from '../../http/toast.js';

/**
 * /directory/users/:userId/unlock: lifts a lock set by the brute-force protection. With htmx the
 * page stays and its user regions reload (users-changed); a plain form and a program go back (303).
 */
export function unlockRoutes(db: Knex): Router {
  const router = Router();

  router.post('/unlock', async (req, res) => {
    const user = req.subject!;
    const lifted = await unlockAccount(db, user, actorOf(req));
    toast(req, lifted ? `${user.username} unlocked: they can log in again.` : `${user.username} is not locked.`, {
      kind: lifted ? 'success' : 'info',
    });
    if (isRegion(req)) return res.set('HX-Reswap', 'none').set('HX-Trigger', 'users-changed').fragment('shared/_empty');
    res.redirect(303, postedFrom(req) ?? `/directory/users/${user.id}`);
  });

  return router;
}
