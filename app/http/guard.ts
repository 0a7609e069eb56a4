import type { NextFunction, Request, Response } from 'express';
import type { Knex } from 'knex';
import { HttpError } from '../errors.js';
import type { Actor } from '../events/events.js';
import { findSessionUser, mayUse, type SessionUser } from '../identity/identity.js';
import { wantsJson } from './accepts.js';
import { signedInUser } from './session-store.js';

declare global {
  namespace Express {
    interface Request {
      user: SessionUser | null;
      /** Set when the request came with `Authorization: Bearer <API token>` instead of a session. */
      apiToken?: number;
    }
  }
}

/** Loads the signed-in user; a session whose user is gone, inactive or expired is ended on the spot. */
export function loadUser(db: Knex) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    req.user = null;
    const userId = req.session?.userId;
    if (userId) {
      const stored = signedInUser(req.session);
      const user = stored?.id === userId ? stored : await findSessionUser(db, userId);
      if (user && mayUse(user)) req.user = user;
      else await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
    }
    res.locals.currentUser = req.user;
    next();
  };
}

/** Sends an anonymous visitor to the login page; htmx gets HX-Redirect so the page, not a cell, changes. */
export function requireLogin(req: Request, res: Response, next: NextFunction): void {
  if (req.user) {
    next();
    return;
  }
  if (wantsJson(req)) {
    res.status(401).set('WWW-Authenticate', 'Bearer').json({ detail: 'Log in, or send Authorization: Bearer <API token>.' });
    return;
  }
  const target = `/login?next=${encodeURIComponent(req.originalUrl)}`;
  if (req.htmx) {
    res
      .set('HX-Redirect', req.method === 'GET' ? target : '/login')
      .status(401)
      .end();
    return;
  }
  if (req.method !== 'GET') {
    next(new HttpError(401, 'Your session has ended. Log in again.'));
    return;
  }
  res.redirect(303, target);
}

export function requireAdmin(req: Request, res: Response, next: NextFunction): void {
  requireLogin(req, res, (err?: unknown) => {
    if (err) return next(err);
    if (!req.user!.isAdmin) return next(new HttpError(403, 'Only administrators can open the directory.'));
    next();
  });
}

/** The signed-in user and their client IP, as events record them. */
export function actorOf(req: Request): Actor {
  return { ...req.user!, ip: req.ip };
}
