import { type Request, type Response, Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Knex } from 'knex';
import { completeLogin } from '../auth/login.js';
import type { Config } from '../config.js';
import { recordEvent } from '../events/events.js';
import { checkTotp, confirmedTypes, useRecoveryCode } from './authenticators.js';
import { webauthn } from './webauthn.js';

const PENDING_MS = 5 * 60_000;
export const MFA_ATTEMPTS = 5;

/** The login's second step: a TOTP code, a recovery code, or a security key. */
export function mfaLoginRoutes(config: Config, db: Knex): Router {
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

  async function finish(req: Request, method: string): Promise<string> {
    const mfa = pending(req)!;
    await completeLogin(req, db, mfa.userId, method);
    return mfa.next ?? '/';
  }

  async function failed(req: Request, reason: string) {
    const user = await db('users')
      .where({ id: pending(req)!.userId })
      .first('id', 'username', 'email');
    await recordEvent(db, { action: 'login_failed', user, app: 'roster.auth', clientIp: req.ip, context: { reason } });
  }

  // Wrong codes are limited per user being signed in, so guessing stops after a few tries.
  const throttle = rateLimit({
    windowMs: 15 * 60_000,
    limit: MFA_ATTEMPTS,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => `mfa:${req.session.mfa?.userId ?? 'none'}`,
    handler: (req, res) => {
      if (!pending(req)) return res.redirect(303, '/login');
      if (req.is('json')) return res.status(429).json({ error: 'Too many wrong codes. Wait 15 minutes, then try again.' });
      void show(req, res, 'Too many wrong codes. Wait 15 minutes, then try again.', 429);
    },
  });

  router.use((req, res, next) => (pending(req) ? next() : res.redirect(303, '/login')));

  router.get('/', (req, res) => show(req, res));

  router.post('/', throttle, async (req, res) => {
    const code = String(req.body?.code ?? '').trim();
    const userId = pending(req)!.userId;
    const method = /^\d{6}$/.test(code.replace(/\s+/g, ''))
      ? (await checkTotp(db, userId, code)) && 'totp'
      : code && (await useRecoveryCode(db, userId, code)) && 'recovery_code';
    if (!method) {
      await failed(req, 'wrong_code');
      return show(
        req,
        res,
        code ? 'That code is not valid. Check the time on your device, or use another code.' : 'Enter a code.',
        code ? 401 : 422,
      );
    }
    res.redirect(303, await finish(req, method));
  });

  router.post('/webauthn/options', async (req, res) => {
    res.json(await keys.authenticationOptions(req, pending(req)!.userId));
  });

  router.post('/webauthn', throttle, async (req, res) => {
    const ok = await keys.authenticate(req, pending(req)!.userId, req.body);
    if (!ok) {
      await failed(req, 'wrong_webauthn');
      return res.status(401).json({ error: 'The security key was not accepted. Try again, or use a code.' });
    }
    res.json({ redirect: await finish(req, 'webauthn') });
  });

  return router;
}
