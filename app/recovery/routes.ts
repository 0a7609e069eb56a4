import { Router } from 'express';
import type { Knex } from 'knex';
import { hashPassword, passwordProblem } from '../auth/passwords.js';
import type { Config } from '../config.js';
import { toast } from '../http/toast.js';
import { findValidToken, redeemToken } from './tokens.js';

const GONE = { title: 'Link expired', message: 'This link has expired or was already used. Ask an administrator for a new one.' };

/**
 * /recovery/:token — the page behind recovery and setup links. A GET never uses the token up
 * (mail scanners open links); only a successful POST does.
 */
export function recoveryRoutes(config: Config, db: Knex): Router {
  const router = Router();

  router.get('/:token', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const found = await findValidToken(db, req.params.token);
    if (!found) return res.page('recovery/gone', GONE, 410);
    await res.page('recovery/form', { title: 'Set your password', username: found.username, errors: {} });
  });

  router.post('/:token', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const found = await findValidToken(db, req.params.token);
    if (!found) return res.page('recovery/gone', GONE, 410);
    const password = String(req.body?.password ?? '');
    const repeat = String(req.body?.password_repeat ?? '');
    const errors: Record<string, string> = {};
    const problem = passwordProblem(password, found.username);
    if (problem) errors.password = problem;
    else if (password !== repeat) errors.password_repeat = 'The two passwords do not match';
    if (problem || errors.password_repeat) {
      return res.page('recovery/form', { title: 'Set your password', username: found.username, errors }, 422);
    }
    const redeemed = await redeemToken(db, found, await hashPassword(password, config.bcryptRounds), req.ip);
    if (!redeemed) return res.page('recovery/gone', GONE, 410);
    toast(req, 'Your password has been set. Log in with it.', { sticky: true });
    res.redirect(303, `/login`);
  });

  return router;
}
