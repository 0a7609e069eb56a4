import type { Request } from 'express';

export interface Toast {
  kind: 'success' | 'error' | 'info';
  message: string;
  link?: { href: string; text: string };
  /** Stays until dismissed (errors and toasts with a link always do): for what the reader must act on. */
  sticky?: boolean;
}

/**
 * Queues a message for the toast region. It is kept in the session until the next response that
 * renders HTML: the page after a redirect, or the fragment of an htmx request (as a partial swap).
 */
export function toast(req: Request, message: string, options: Partial<Omit<Toast, 'message'>> = {}): void {
  const item: Toast = {
    kind: options.kind ?? 'success',
    message,
    ...(options.link ? { link: options.link } : {}),
    ...(options.sticky ? { sticky: true } : {}),
  };
  // No session (a program with an API token, or a request whose session could not be loaded):
  // the toast can only go with this response, if it renders HTML.
  if (!req.session) {
    UNSAVED.set(req, [...(UNSAVED.get(req) ?? []), item]);
    return;
  }
  req.session.flash = [...(req.session.flash ?? []), item];
}

const UNSAVED = new WeakMap<Request, Toast[]>();

export function takeToasts(req: Request): Toast[] {
  const flash = [...(req.session?.flash ?? []), ...(UNSAVED.get(req) ?? [])];
  if (req.session?.flash) delete req.session.flash;
  UNSAVED.delete(req);
  return flash;
}
