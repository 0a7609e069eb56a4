import { Router } from 'express';
import type { Knex } from 'knex';
import { listUsers } from './users.js';

export function userRoutes(db: Knex): Router {
  const router = Router();
  router.get('/directory/users', async (_req, res) => {
    const users = await listUsers(db);
    await res.page('directory/users/index', { title: 'Users', nav: 'users', users });
  });
  return router;
}
