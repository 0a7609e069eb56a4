import type { Request } from 'express';

/** Whether the client asked for JSON rather than HTML. */
export function wantsJson(req: Request): boolean {
  return req.accepts(['html', 'json']) === 'json';
}
