import session from 'express-session';
import type { NextFunction, Request, Response } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { KnexSessionStore } from './session-store.js';

export const SESSION_COOKIE = 'roster.sid';
const SESSION_MAX_AGE_MS = 14 * 86_400_000;
// Refresh last-used (and with it the expiry) at most once a minute, not on every request.
const SEEN_EVERY_MS = 60_000;

export function sessions(config: Config, db: Knex, secret: string) {
  return session({
    name: SESSION_COOKIE,
    secret,
    store: new KnexSessionStore(db),
    resave: false,
    saveUninitialized: false,
    unset: 'destroy',
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.publicUrl.startsWith('https:'),
      maxAge: SESSION_MAX_AGE_MS,
    },
  });
}

/** Keeps the session row's IP, user agent and last-used time current for signed-in sessions. */
export function trackActivity(req: Request, _res: Response, next: NextFunction): void {
  if (req.session?.userId) {
    const ip = req.ip ?? '';
    const ua = (req.get('User-Agent') ?? '').slice(0, 512);
    const seen = req.session.seen;
    const now = Date.now();
    if (!seen || seen.ip !== ip || seen.ua !== ua || now - seen.at > SEEN_EVERY_MS) {
      req.session.seen = { ip, ua, at: now };
    }
  }
  next();
}
