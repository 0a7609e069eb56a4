import { type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import { hashPassword, passwordProblem } from '../auth/passwords.js';
import { type BruteForceGuard, refusalMessage } from '../auth/throttle/guard.js';
import type { Config } from '../config.js';
import { toast } from '../http/toast.js';
import { findValidToken, redeemToken, type ValidToken } from './tokens.js';

const GONE = { title: 'Link expired', message: 'This link has expired or was already used. Ask an administrator for a new one.' };

/**
 * /recovery/:token — the page behind recovery and setup links. A GET never uses the token up
 * (mail scanners open links); only a successful POST does. Unknown, used and expired links count
 * against the address that opens them (the brute-force guard): after too many, it waits, whatever
 * link it brings.
 */
export function recoveryRoutes(config: Config, db: Knex, guard: BruteForceGuard): Router {
  const router = Router();

  /** The link's user, or undefined once the page that says why not has been sent. */
  async function tokenOf(req: Request, res: Response): Promise<ValidToken | undefined> {
    res.set('Cache-Control', 'no-store');
    const check = await guard.recovery(req);
    if (check.refusal) {
      await res.page('recovery/gone', { title: 'Too many attempts', message: refusalMessage(res, check.refusal) }, 429);
      return undefined;
    }
    const found = await findValidToken(db, String(req.params.token));
    if (found) return found;
    await guard.failed(check.refs);
    await res.page('recovery/gone', GONE, 410);
    return undefined;
  }

  router.get('/:token', async (req, res) => {
    const found = await tokenOf(req, res);
    if (!found) return;
    await res.page('recovery/form', { title: 'Set your password', username: found.username, errors: {} });
  });

  router.post('/:token', async (req, res) => {
    const found = await tokenOf(req, res);
    if (!found) return;
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
