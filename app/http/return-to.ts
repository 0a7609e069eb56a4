import type { Request } from 'express';

/** Only a local path may follow a login or a form: never another site (open redirect). */
export function safeNext(next: unknown): string | undefined {
  return typeof next === 'string' && /^\/(?![/\\])/.test(next) ? next : undefined;
}

/**
 * The page a form or review was opened from, so that without JavaScript it returns there (the list
 * with its folder, search and page) rather than to the user's page: `from` in the query, else the
 * Referer when it is a page of this site (Referrer-Policy same-origin sends it to our own pages only).
 * Always a local path (safeNext): never a way to send the admin elsewhere.
 */
export function openedFrom(req: Request): string | undefined {
  const explicit = safeNext(req.query.from);
  if (explicit) return explicit;
  let referer: URL;
  try {
    referer = new URL(req.get('Referer') ?? '');
  } catch {
    return undefined;
  }
  const own = referer.protocol === `${req.protocol}:` && referer.host === req.get('host');
  return own ? safeNext(referer.pathname + referer.search) : undefined;
}

/** Where a posted form goes back to: its `from` field, if it is a local path. */
export function postedFrom(req: Request): string | undefined {
  return safeNext(req.body?.from);
}
