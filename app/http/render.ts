import type { NextFunction, Request, Response } from 'express';
import { wantsJson } from './accepts.js';
import { isRegion } from './htmx.js';
import { type Toast, takeToasts, toast } from './toast.js';

declare global {
  namespace Express {
    interface Response {
      /** Renders a view inside the layout (with the toast region) and sends it. */
      page(view: string, locals?: Record<string, unknown>, status?: number): Promise<void>;
      /** Renders a view alone, plus pending toasts as an htmx partial for the toast region. */
      fragment(view: string, locals?: Record<string, unknown>, status?: number): Promise<void>;
      /**
       * A form or a review (locals.content names its partial, from views/shared/): a modal for an
       * htmx request aimed at #modal, a page of its own otherwise.
       */
      dialog(locals: Record<string, unknown> & { content: string }, status?: number): Promise<void>;
    }
  }
}

function renderView(res: Response, view: string, locals: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => {
    res.app.render(view, { ...res.locals, ...locals }, (err, html) => (err ? reject(err) : resolve(html)));
  });
}

/** A program asking for JSON gets a refused form as `{ errors: { field: message } }`. */
function sendJsonErrors(req: Request, res: Response, locals: Record<string, unknown>, status: number): boolean {
  if (status !== 422 || !wantsJson(req)) return false;
  const errors = (locals.errors as Record<string, string> | undefined) ?? { detail: String(locals.error ?? 'Invalid input') };
  res.status(422).json({ errors });
  return true;
}

export function render(req: Request, res: Response, next: NextFunction): void {
  res.locals.currentUser = req.user ?? null;
  res.page = async (view, locals = {}, status = 200) => {
    if (sendJsonErrors(req, res, locals, status)) return;
    res.locals.csrfToken = req.csrfFormToken?.() ?? '';
    const body = await renderView(res, view, locals);
    const html = await renderView(res, 'layout', { ...locals, body, toasts: takeToasts(req) });
    res.status(status).type('html').send(html);
  };
  res.fragment = async (view, locals = {}, status = 200) => {
    if (sendJsonErrors(req, res, locals, status)) return;
    res.locals.csrfToken = req.csrfFormToken?.() ?? '';
    const body = await renderView(res, view, locals);
    const toasts = takeToasts(req);
    const partial = toasts.length ? await renderView(res, 'shared/_toasts-partial', { toasts }) : '';
    res
      .status(status)
      .type('html')
      .send(body + partial);
  };
  res.dialog = (locals, status = 200) =>
    isRegion(req, 'modal') ? res.fragment('shared/_modal', locals, status) : res.page('shared/form-page', locals, status);
  next();
}

export interface DialogEnd {
  /**
   * The event that says what changed ("users-changed"). The page decides what to show: each region
   * that shows such things listens for it (`hx-trigger="users-changed from:body"`) and reloads itself.
   */
  changed: string;
  /** The message for the toast region. */
  toast: string | (Partial<Toast> & { message: string });
  /** Where a plain form goes afterwards (303): the page it came from, or the thing's page. */
  back: string;
}

/**
 * The one way a dialog (a form or a review) ends once it has done its work: the toast; then, in the
 * htmx modal, the modal closes and the page hears what changed; without htmx, Post/Redirect/Get.
 * The server never asks which page the modal was opened on.
 */
export async function finishDialog(req: Request, res: Response, end: DialogEnd): Promise<void> {
  const { message, ...options } = typeof end.toast === 'string' ? { message: end.toast } : end.toast;
  toast(req, message, options);
  if (!isRegion(req, 'modal')) return res.redirect(303, end.back);
  // The response empties #modal; htmx skips a main swap left empty by its partials (the toast) unless told.
  res.set('HX-Reswap', 'innerHTML swapEmpty:true').set('HX-Trigger', end.changed);
  await res.fragment('shared/_empty');
}
