import { type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { recordEvent } from '../events/events.js';
import { safeNext } from '../http/return-to.js';
import { toast } from '../http/toast.js';
import { hasSecondFactor } from '../mfa/authenticators.js';
import { authenticate, completeLogin } from './login.js';
import { type BruteForceGuard, refusalMessage } from './throttle/guard.js';

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

function loginPage(res: Response, locals: { username: string; error: string | null; next: string | undefined }, status = 200) {
  return res.page('auth/login', { title: 'Log in', values: { username: locals.username }, error: locals.error, next: locals.next }, status);
}

export function authRoutes(config: Config, db: Knex, guard: BruteForceGuard): Router {
  const router = Router();

  router.get('/login', async (req, res) => {
    if (req.user) return res.redirect(303, safeNext(req.query.next) ?? '/');
    await loginPage(res, { username: '', error: null, next: safeNext(req.query.next) });
  });

  router.post('/login', async (req, res) => {
    const username = String(req.body?.username ?? '').trim();
    const password = String(req.body?.password ?? '');
    const next = safeNext(req.body?.next);
    if (!username || !password) return loginPage(res, { username, error: 'Enter your username and password.', next }, 422);
    // Refusals come before the password is checked: they look and take the same whether it was right or not.
    const check = await guard.login(req, username);
    if (check.refusal) {
      await guard.loginRefused(req, check);
      return loginPage(res, { username, error: refusalMessage(res, check.refusal), next }, 429);
    }
    const result = await authenticate(db, username, password, config.bcryptRounds, req.ip);
    if (!result.ok) {
      await guard.loginFailed(req, check);
      return loginPage(res, { username, error: 'Invalid username or password.', next }, 401);
    }
    await guard.loginSucceeded(check);
    if (await hasSecondFactor(db, result.userId)) {
      // The password was right; the session signs in only after the second factor.
      await regenerate(req);
      req.session.mfa = { userId: result.userId, next, started: Date.now() };
      return res.redirect(303, '/login/mfa');
    }
    await completeLogin(req, db, result.userId, 'password');
    await guard.signedIn(req, res, result.userId);
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
