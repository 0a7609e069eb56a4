import type { NextFunction, Request, Response } from 'express';
import type { Knex } from 'knex';
import { checkKey } from '../directory/tokens/tokens.js';
import { wantsJson } from '../http/accepts.js';
import { findSessionUser, mayUse } from '../identity/identity.js';

/**
 * `Authorization: Bearer <token>` instead of a session cookie: the token's owner acts, without a
 * session and without a CSRF token (a program holding a token is not a browser tricked into posting).
 */
export function bearerAuth(db: Knex) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('Authorization');
    if (!header) return next();
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const verdict = match ? await checkKey(db, match[1], req.ip) : { ok: false as const, reason: 'use Authorization: Bearer <token>' };
    // A provisioning token is no administrator's token: it works on /scim/v2 alone.
    const scim = verdict.ok && verdict.purpose === 'scim';
    const user = verdict.ok && !scim ? await findSessionUser(db, verdict.userId) : undefined;
    if (!verdict.ok || !user || !mayUse(user)) {
      const detail = scim
        ? 'This token is for SCIM provisioning (/scim/v2) only.'
        : `Authentication failed: ${verdict.ok ? "the token's owner is deactivated or expired" : verdict.reason}.`;
      res.status(401).set('WWW-Authenticate', 'Bearer');
      if (wantsJson(req) || req.path.startsWith('/api/')) res.json({ detail });
      else res.type('text').send(detail);
      return;
    }
    req.user = user;
    req.apiToken = verdict.tokenId;
    next();
  };
}
