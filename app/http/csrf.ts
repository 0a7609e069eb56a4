import { createHmac } from 'node:crypto';
import { csrfSync } from 'csrf-sync';
import type { NextFunction, Request, Response } from 'express';

declare module 'express-session' {
  interface SessionData {
    /** Set once a page with forms was rendered: keeps an anonymous session (and its token). */
    csrf?: true;
  }
}

declare global {
  namespace Express {
    interface Request {
      /** The CSRF token of this session, for forms (`_csrf`) and htmx (`X-CSRF-Token`). */
      csrfFormToken?: () => string;
    }
  }
}

/**
 * Synchronizer tokens (csrf-sync) bound to the session: the token is an HMAC of the session id,
 * so every page of a session shows the same token however many render at once (a random token
 * stored in the session is overwritten when two first renders race), and it changes with the
 * session id at login and logout.
 */
export function csrfProtection(secret: string) {
  const tokenOf = (req: Request) =>
    req.sessionID ? createHmac('sha256', secret).update(`csrf:${req.sessionID}`).digest('hex') : undefined;
  const sync = csrfSync({
    getTokenFromRequest: (req) => (req.body?._csrf as string | undefined) ?? (req.get('X-CSRF-Token') as string | undefined),
    getTokenFromState: tokenOf as never,
    storeTokenInState: () => {},
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    req.csrfFormToken = () => {
      req.session.csrf = true;
      return tokenOf(req)!;
    };
    sync.csrfSynchronisedProtection(req, res, next);
  };
}

export function isCsrfError(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EBADCSRFTOKEN';
}
