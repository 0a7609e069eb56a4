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
  if (!req.session) return; // a program with an API token: no session, no toasts
  const flash = req.session.flash ?? [];
  flash.push({ kind: options.kind ?? 'success', message, ...(options.link ? { link: options.link } : {}), ...(options.sticky ? { sticky: true } : {}) });
  req.session.flash = flash;
}

export function takeToasts(req: Request): Toast[] {
  const flash = req.session?.flash;
  if (!flash?.length) return [];
  delete req.session.flash;
  return flash;
}
