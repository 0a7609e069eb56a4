import { Router } from 'express';
import type { Knex } from 'knex';
import { type BulkItem, bulkRoute } from '../../../http/bulk.js';
import { actorOf } from '../../../http/guard.js';
import { parseIds } from '../../../http/params.js';
import { formatDateTime } from '../../../http/view-helpers.js';
import { deleteSessions, listSessions, sessionIdsOf } from '../../../identity/sessions.js';
import { renderTab, tabUrl } from './tabs.js';

const PAGE = 50;

/** The Sessions tab: the user's active sessions; deleting them ends them at their next request. */
export function sessionsTab(db: Knex): Router {
  const router = Router();

  router.get('/sessions', async (req, res) => {
    const match = /^(\d{1,15})-(\d{1,12})$/.exec(String(req.query.page ?? ''));
    const after = match ? { lastUsed: new Date(Number(match[1])), id: Number(match[2]) } : undefined;
    const rows = await listSessions(db, req.subject!.id, req.sessionID, { after, limit: PAGE + 1 });
    const sessions = rows.slice(0, PAGE);
    const last = sessions[sessions.length - 1];
    const next = rows.length > PAGE && last ? `?page=${last.lastUsed.getTime()}-${last.id}` : null;
    await renderTab(req, res, 'sessions', { sessions, next, paged: Boolean(after) });
  });

  bulkRoute(router, '/sessions/delete', {
    verb: 'Delete',
    noun: ['session', 'sessions'],
    changedEvent: 'tab-changed',
    back: (req) => tabUrl(req.subject!, 'sessions'),
    load: async (req, ids, forReview): Promise<BulkItem[]> => {
      if (!forReview) {
        // About to delete: which of the ids are this user's sessions is all that matters.
        return (await sessionIdsOf(db, req.subject!.id, parseIds(ids))).map((id) => ({ id, label: String(id) }));
      }
      return (await listSessions(db, req.subject!.id, req.sessionID, { ids: parseIds(ids) })).map((s) => ({
        id: s.id,
        label: s.device,
        details: [s.ip ?? 'unknown IP', `last used ${formatDateTime(s.lastUsed)}`, ...(s.current ? ['your current session'] : [])],
      }));
    },
    warning: (req, items) =>
      items.some((i) => i.details?.includes('your current session'))
        ? 'This includes the session you are using now: you will be logged out.'
        : undefined,
    apply: async (req, items) => {
      const user = req.subject!;
      const count = (
        await deleteSessions(
          db,
          user,
          items.map((i) => Number(i.id)),
          actorOf(req),
        )
      ).length;
      return count ? `${count === 1 ? '1 session' : `${count} sessions`} of ${user.username} ended.` : null;
    },
  });

  return router;
}
