import { type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import { completeLogin } from '../auth/login.js';
import { type BruteForceGuard, type Check, refusalMessage } from '../auth/throttle/guard.js';
import type { AccountUser } from '../auth/throttle/lock.js';
import type { Config } from '../config.js';
import { recordEvent } from '../events/events.js';
import { checkTotp, confirmedTypes, useRecoveryCode } from './authenticators.js';
import { webauthn } from './webauthn.js';

const PENDING_MS = 5 * 60_000;

/**
 * The login's second step: a TOTP code, a recovery code, or a security key. Wrong ones are counted
 * per user and client in the database (the brute-force guard), so guessing stops after a few tries.
 */
export function mfaLoginRoutes(config: Config, db: Knex, guard: BruteForceGuard): Router {
  const router = Router();
  const keys = webauthn(config, db);

  /** The user whose password was right a moment ago, or undefined when there is none (any more). */
  function pending(req: Request) {
    const mfa = req.session.mfa;
    if (!mfa || Date.now() - mfa.started > PENDING_MS) return undefined;
    return mfa;
  }

  async function show(req: Request, res: Response, error: string | null = null, status = 200) {
    const mfa = pending(req)!;
    const types = await confirmedTypes(db, mfa.userId);
    await res.page('mfa/login', { title: 'Second factor', types, error }, status);
  }

  async function finish(req: Request, res: Response, check: Check, method: string): Promise<string> {
    const mfa = pending(req)!;
    await guard.succeeded(check);
    await completeLogin(req, db, mfa.userId, method);
    await guard.signedIn(req, res, mfa.userId);
    return mfa.next ?? '/';
  }

  /**
   * The user being signed in and this client's count of wrong codes for them. A refused attempt
   * is answered here (429, Retry-After) and recorded at most once a minute; the code is not checked.
   */
  async function attempt(req: Request, res: Response) {
    const user = await db('users')
      .where({ id: pending(req)!.userId })
      .first('id', 'username', 'email');
    if (!user) {
      delete req.session.mfa; // deleted meanwhile: there is no one to sign in
      res.redirect(303, '/login');
      return undefined;
    }
    const check = await guard.mfa(req, user);
    if (!check.refusal) return { user, check };
    if (await guard.shouldRecord(check)) await recordFailure(req, user, 'throttled_mfa');
    const error = refusalMessage(res, check.refusal);
    if (req.is('json')) res.status(429).json({ error });
    else await show(req, res, error, 429);
    return undefined;
  }

  async function failed(req: Request, user: AccountUser, check: Check, reason: string) {
    await guard.failed(check.refs);
    await recordFailure(req, user, reason);
  }

  async function recordFailure(req: Request, user: AccountUser, reason: string) {
    await recordEvent(db, { action: 'login_failed', user, app: 'roster.auth', clientIp: req.ip, context: { reason } });
  }

  router.use((req, res, next) => (pending(req) ? next() : res.redirect(303, '/login')));

  router.get('/', (req, res) => show(req, res));

  router.post('/', async (req, res) => {
    const code = String(req.body?.code ?? '').trim();
    const userId = pending(req)!.userId;
    if (!code) return show(req, res, 'Enter a code.', 422);
    const tried = await attempt(req, res);
    if (!tried) return;
    const method = /^\d{6}$/.test(code.replace(/\s+/g, ''))
      ? (await checkTotp(db, userId, code)) && 'totp'
      : (await useRecoveryCode(db, userId, code)) && 'recovery_code';
    if (!method) {
      await failed(req, tried.user, tried.check, 'wrong_code');
      return show(req, res, 'That code is not valid. Check the time on your device, or use another code.', 401);
    }
    res.redirect(303, await finish(req, res, tried.check, method));
  });

  router.post('/webauthn/options', async (req, res) => {
    res.json(await keys.authenticationOptions(req, pending(req)!.userId));
  });

  router.post('/webauthn', async (req, res) => {
    const tried = await attempt(req, res);
    if (!tried) return;
    const ok = await keys.authenticate(req, pending(req)!.userId, req.body);
    if (!ok) {
      await failed(req, tried.user, tried.check, 'wrong_webauthn');
      return res.status(401).json({ error: 'The security key was not accepted. Try again, or use a code.' });
    }
    res.json({ redirect: await finish(req, res, tried.check, 'webauthn') });
  });

  return router;
}
