import { type Request, Router } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { recordEvent } from '../events/events.js';
import { safeNext } from '../http/return-to.js';
import { toast } from '../http/toast.js';
import { hasSecondFactor } from '../mfa/authenticators.js';
import { authenticate, completeLogin } from './login.js';
import { loginRateLimits } from './rate-limit.js';

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

export function authRoutes(config: Config, db: Knex): Router {
  const router = Router();

  router.get('/login', async (req, res) => {
    if (req.user) return res.redirect(303, safeNext(req.query.next) ?? '/');
    await res.page('auth/login', { title: 'Log in', values: { username: '' }, error: null, next: safeNext(req.query.next) });
  });

  router.post('/login', ...loginRateLimits(), async (req, res) => {
    const username = String(req.body?.username ?? '').trim();
    const password = String(req.body?.password ?? '');
    const next = safeNext(req.body?.next);
    const result = username && password ? await authenticate(db, username, password, config.bcryptRounds, req.ip) : { ok: false as const };
    if (!result.ok) {
      const error = username && password ? 'Invalid username or password.' : 'Enter your username and password.';
      return res.page('auth/login', { title: 'Log in', values: { username }, error, next }, username && password ? 401 : 422);
    }
    if (await hasSecondFactor(db, result.userId)) {
      // The password was right; the session signs in only after the second factor.
      await regenerate(req);
      req.session.mfa = { userId: result.userId, next, started: Date.now() };
      return res.redirect(303, '/login/mfa');
    }
    await completeLogin(req, db, result.userId, 'password');
    res.redirect(303, next ?? '/');
  });

  router.post('/logout', async (req, res) => {
    if (req.user) {
      await recordEvent(db, { action: 'logout', user: req.user, app: 'roster.auth', clientIp: req.ip });
    }
    await regenerate(req);
    toast(req, 'You have been logged out.', { kind: 'info' });
    if (req.htmx) return res.set('HX-Redirect', '/login').status(204).end();
    res.redirect(303, '/login');
  });

  return router;
}
