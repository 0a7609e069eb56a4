import { Router } from 'express';
import type { Knex } from 'knex';

/** Liveness says the process answers; readiness says the database answers too. */
export function healthRoutes(db: Knex): Router {
  const router = Router();
  router.get('/live/', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/ready/', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    try {
      await db.raw('select 1');
      res.json({ status: 'ok', database: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable', database: 'unreachable' });
    }
  });
  return router;
}
