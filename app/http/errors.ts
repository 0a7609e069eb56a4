import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { HttpError } from '../errors.js';
import { redactUrl } from '../log.js';
import { wantsJson } from './accepts.js';
import { isCsrfError } from './csrf.js';
import { isRegion } from './htmx.js';
import { toast } from './toast.js';

export function notFound(_req: Request, _res: Response, next: NextFunction): void {
  next(new HttpError(404, 'There is nothing at this address.'));
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Forbidden',
  404: 'Page not found',
  413: 'Too large',
  415: 'Unsupported content',
  429: 'Too many requests',
  500: 'Something went wrong',
};

function describe(err: unknown): { status: number; message: string; up?: string } {
  if (isCsrfError(err)) {
    return { status: 403, message: 'This form has expired or was sent from another page. Reload the page and try again.' };
  }
  if (err instanceof HttpError) return { status: err.status, message: err.message, up: err.up };
  const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
  if (status && status >= 400 && status < 500) {
    return { status, message: (err as { expose?: boolean }).expose ? (err as Error).message : (TITLES[status] ?? 'Bad request') };
  }
  return { status: 500, message: 'Roster could not complete this request. It has been logged; please try again.' };
}

/**
 * What of an error goes into the log. Knex prefixes the driver's message with the whole statement
 * and its values (a password hash, say): only the driver's part is kept, and the stack's frames.
 */
export function loggable(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err).slice(0, 200) };
  const frames =
    err.stack
      ?.split('\n')
      .filter((line) => line.trimStart().startsWith('at '))
      .slice(0, 12) ?? [];
  const cut = err.message.lastIndexOf(' - ');
  const driverMessage = cut >= 0 ? err.message.slice(cut + 3) : err.message;
  return { type: err.name, code: (err as { code?: string }).code, message: driverMessage.slice(0, 300), stack: frames.join('\n') };
}

/**
 * The one error handler. A page request gets an error page; an htmx request that swaps a region gets
 * a toast instead (HX-Reswap: none), so a failure never lands inside a table cell. A region of a
 * page about a thing that is gone (see HttpError's `up`) sends the browser to where such things are
 * listed; a dialog about it (#modal) leaves the page where it is.
 */
export function errorHandler(logger: Logger) {
  return async (err: unknown, req: Request, res: Response, next: NextFunction): Promise<void> => {
    const { status, message, up } = describe(err);
    if (status >= 500) logger.error({ err: loggable(err), url: redactUrl(req.originalUrl?.split('?')[0] ?? '') }, 'request failed');
    if (res.headersSent) return next(err);
    try {
      if (wantsJson(req) || req.apiToken || req.originalUrl.startsWith('/api/')) {
        res.status(status).json({ detail: message });
      } else if (up && req.method === 'GET' && isRegion(req) && !isRegion(req, 'modal')) {
        toast(req, message, { kind: 'info' });
        res.set('HX-Redirect', up).status(status).end();
      } else if (isRegion(req)) {
        toast(req, message, { kind: 'error' });
        res.set('HX-Reswap', 'none');
        await res.fragment('shared/_empty', {}, status);
      } else {
        await res.page('errors/error', { title: TITLES[status] ?? 'Error', status, message }, status);
      }
    } catch (renderErr) {
      logger.error({ err: renderErr }, 'error page failed');
      if (!res.headersSent) res.status(status).type('text').send(message);
    }
  };
}
