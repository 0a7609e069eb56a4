import { Router } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../../config.js';
import { RuleError } from '../../errors.js';
import { bulkRoute } from '../../http/bulk.js';
import { actorOf } from '../../http/guard.js';
import { parseIds } from '../../http/params.js';
import { finishDialog } from '../../http/render.js';
import { openedFrom, postedFrom } from '../../http/return-to.js';
import { checkbox } from '../form-fields.js';
import { matchingIds } from './bulk/matching.js';
import { deleteUsers, dependents, findByIds, setActive } from './users.js';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** /directory/users/delete: select users, review, Delete. */
export function deleteUsersRoute(config: Config, db: Knex): Router {
  const router = Router();
  bulkRoute(router, '/delete', {
    verb: 'Delete',
    noun: ['user', 'users'],
    changedEvent: 'users-changed',
    back: () => '/directory/users',
    matching: (_req, filter) => matchingIds(db, filter),
    load: async (req, ids, forReview) => {
      const users = await findByIds(db, parseIds(ids));
      if (!forReview) return users.map((u) => ({ id: u.id, label: u.username }));
      const counts = await dependents(
        db,
        users.map((u) => u.id),
        config.deleteUserEvents,
      );
      return users.map((u) => {
        const c = counts(u.id);
        return {
          id: u.id,
          label: u.name ? `${u.username} (${u.name})` : u.username,
          details: [
            plural(c.sessions, 'session', 'sessions'),
            plural(c.memberships, 'group membership', 'group memberships'),
            ...(config.deleteUserEvents ? [plural(c.events, 'event', 'events')] : []),
            ...(u.id === req.user!.id ? ['this is you'] : []),
          ],
        };
      });
    },
    warning: (req, items) =>
      items.some((i) => Number(i.id) === req.user!.id)
        ? 'You cannot delete your own account: remove yourself from the selection.'
        : 'Deleting cannot be undone. To keep a user’s data, deactivate them instead.',
    apply: async (req, items) => {
      const users = await findByIds(
        db,
        items.map((i) => Number(i.id)),
      );
      const deleted = await deleteUsers(db, users, actorOf(req), { deleteEvents: config.deleteUserEvents });
      if (!deleted.length) return null;
      return deleted.length === 1 ? `User ${deleted[0].username} deleted.` : `${deleted.length} users deleted.`;
    },
  });
  return router;
}

/** /directory/users/:userId/activation: deactivate or activate one user (review, then Update). */
export function activationRoutes(db: Knex): Router {
  const router = Router();

  router.get('/activation', async (req, res) => {
    const user = req.subject!;
    const sessions = (await dependents(db, [user.id], false))(user.id).sessions;
    const view = {
      title: `${user.isActive ? 'Deactivate' : 'Activate'} ${user.username}?`,
      nav: 'users',
      user,
      sessions,
      error: null,
      from: openedFrom(req),
      content: '../directory/users/_activation',
      crumbs: [{ href: `/directory/users/${user.id}`, text: user.username }],
    };
    await res.dialog(view);
  });

  router.post('/activation', async (req, res) => {
    const user = req.subject!;
    const active = checkbox(req.body?.is_active, !user.isActive);
    try {
      await setActive(db, user, active, actorOf(req));
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      const view = {
        title: `Deactivate ${user.username}?`,
        nav: 'users',
        user,
        sessions: 0,
        error: err.message,
        from: postedFrom(req),
        content: '../directory/users/_activation',
        crumbs: [{ href: `/directory/users/${user.id}`, text: user.username }],
      };
      return res.dialog(view, 422);
    }
    await finishDialog(req, res, {
      changed: 'users-changed',
      toast: active
        ? `${user.username} activated: they can log in again.`
        : `${user.username} deactivated: their sessions ended and login is blocked.`,
      back: postedFrom(req) ?? `/directory/users/${user.id}`,
    });
  });

  return router;
}
