import { csrfSync } from 'csrf-sync';

/** Synchronizer tokens kept in the session: field `_csrf` in forms, header X-CSRF-Token from htmx. */
export const csrf = csrfSync({
  getTokenFromRequest: (req) => (req.body?._csrf as string | undefined) ?? (req.get('X-CSRF-Token') as string | undefined),
});
