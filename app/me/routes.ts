import { Router } from 'express';
import { requireLogin } from '../http/guard.js';

/** The signed-in user's own account. */
export function meRoutes(): Router {
  const router = Router();
  router.get('/me', requireLogin, async (req, res) => {
    await res.page('me/index', { title: 'My account', nav: 'me', me: req.user });
  });
  return router;
}
