import type { NextFunction, Request, Response } from 'express';
import session from 'express-session';
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

/** Records where and when the session was seen; the store copies it into the row's columns. */
export function markSeen(req: Request): void {
  req.session.seen = { ip: req.ip ?? '', ua: (req.get('User-Agent') ?? '').slice(0, 512), at: Date.now() };
}

/** Keeps the session row's IP, user agent and last-used time current for signed-in sessions. */
export function trackActivity(req: Request, _res: Response, next: NextFunction): void {
  const seen = req.session?.seen;
  if (
    req.session?.userId
    && (!seen || seen.ip !== req.ip || seen.ua !== (req.get('User-Agent') ?? '').slice(0, 512) || Date.now() - seen.at > SEEN_EVERY_MS)
  ) {
    markSeen(req);
  }
  next();
}

/**
 * Saves the session before a redirect leaves, when the request changed it. express-session sends
 * the headers first and saves while the body goes out, and a browser follows a redirect as soon as
 * its headers arrive: on a busy database the next page then read the session as it was before (no
 * login, no toast). An anonymous visitor's empty session is never stored, as express-session would not.
 */
export function saveBeforeRedirect(req: Request, res: Response, next: NextFunction): void {
  const loaded = sessionData(req);
  const redirect = res.redirect.bind(res) as (...args: unknown[]) => void;
  res.redirect = ((...args: unknown[]) => {
    const now = sessionData(req);
    if (now === undefined || now === loaded) return redirect(...args);
    req.session.save((err) => (err ? next(err) : redirect(...args)));
  }) as Response['redirect'];
  next();
}

/** What the session holds besides its cookie, as text; undefined when it holds nothing. */
function sessionData(req: Request): string | undefined {
  if (!req.session) return undefined;
  const { cookie: _cookie, ...data } = req.session;
  return Object.keys(data).length ? JSON.stringify(data) : undefined;
}
