import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { HttpError } from '../errors.js';

declare global {
  namespace Express {
    interface Request {
      /** Why the body could not be read; raised by `refuseUnreadableBody` once the session is known. */
      bodyError?: HttpError;
    }
  }
}

/** How deep a request body may nest. JSON.parse does not recurse, but what reads the result does. */
export const BODY_DEPTH = 64;

/**
 * Whether a parsed value nests objects or arrays deeper than `max`, counted without recursion
 * (a cycle counts as too deep).
 */
export function deeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

function refusal(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const { name, code, status, type } = err as { name?: string; code?: string; status?: number; type?: string };
  if (name === 'MulterError') {
    return code === 'LIMIT_UNEXPECTED_FILE'
      ? new HttpError(400, 'Only form fields are accepted here, no files.')
      : new HttpError(413, 'This request is too large.');
  }
  if (status === 413 || type === 'parameters.too.many') return new HttpError(413, 'This request is too large.');
  if (status === 415) return new HttpError(415, 'This kind of content is not accepted here: send a form or JSON in UTF-8.');
  return new HttpError(400, 'The request body could not be read: it is not well-formed.');
}

const tooDeep: RequestHandler = (req, _res, next) => {
  if (deeperThan(req.body, BODY_DEPTH))
    req.bodyError = new HttpError(400, `The request body is nested too deeply: at most ${BODY_DEPTH} levels.`);
  next();
};

/**
 * Form, JSON and multipart bodies. A body that cannot be read (malformed, too large, nested too
 * deeply, of another type) is not refused here but noted, so that the refusal comes after the
 * session and user are loaded and answers like every other error: a page, a toast or JSON.
 */
export function bodyParsers(): RequestHandler[] {
  const parsers: RequestHandler[] = [
    express.urlencoded({ extended: false, limit: '400kb', parameterLimit: 20_000 }),
    express.json({ limit: '100kb' }),
    tooDeep,
    multer({ limits: { fieldSize: 200_000 } }).none(),
  ];
  return parsers.map((parse) => (req: Request, res: Response, next: NextFunction) => {
    if (req.bodyError) return next();
    parse(req, res, (err?: unknown) => {
      if (err) req.bodyError = refusal(err);
      next();
    });
  });
}

export function refuseUnreadableBody(req: Request, _res: Response, next: NextFunction): void {
  next(req.bodyError);
}
