import type { Request, Response } from 'express';
import { rateLimit } from 'express-rate-limit';

const WINDOW_MS = 15 * 60_000;
export const LOGIN_LIMITS = { perIp: 50, perUsername: 10 };

function refuse(req: Request, res: Response): void {
  const minutes = Math.ceil(WINDOW_MS / 60_000);
  void res.page(
    'auth/login',
    {
      title: 'Log in',
      values: { username: String(req.body?.username ?? '') },
      error: `Too many failed attempts. Wait ${minutes} minutes, then try again.`,
      next: req.query.next,
    },
    429,
  );
}

/**
 * Failed logins are limited per client IP and per username. Only failures count
 * (a successful login is not held against anyone).
 */
export function loginRateLimits() {
  const common = {
    windowMs: WINDOW_MS,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8' as const,
    legacyHeaders: false,
    handler: refuse,
  };
  return [
    rateLimit({ ...common, limit: LOGIN_LIMITS.perIp }),
    rateLimit({
      ...common,
      limit: LOGIN_LIMITS.perUsername,
      keyGenerator: (req) =>
        `username:${String(req.body?.username ?? '')
          .trim()
          .toLowerCase()}`,
    }),
  ];
}
