import type { NextFunction, Request, Response } from 'express';
import type { Knex } from 'knex';
import { HttpError } from '../../errors.js';
import { parseId } from '../../http/params.js';
import { findById, type User } from './users.js';

declare global {
  namespace Express {
    interface Request {
      /** The user a /directory/users/:userId URL is about. */
      subject?: User;
    }
  }
}

/** router.param('userId', …) for every router under /directory/users/:userId: loads the user or 404s. */
export function loadSubject(db: Knex) {
  return async (req: Request, _res: Response, next: NextFunction, id: string): Promise<void> => {
    const userId = parseId(id);
    const user = userId === null ? undefined : await findById(db, userId);
    if (!user) return next(new HttpError(404, 'There is no such user. It may have been deleted.', '/directory/users'));
    req.subject = user;
    next();
  };
}
