import { Router } from 'express';
import type { Knex } from 'knex';
import { bulkRoute } from '../../../http/bulk.js';
import { actorOf } from '../../../http/guard.js';
import { formatDateTime } from '../../../http/view-helpers.js';
import { deleteConsents, listConsents } from '../../../oauth/grants.js';
import { renderTab, tabUrl } from './tabs.js';

/** The Explicit consent tab: what the user allowed which application; deleting makes it ask again. */
export function consentsTab(db: Knex): Router {
  const router = Router();

  router.get('/consents', async (req, res) => {
    await renderTab(req, res, 'consents', { consents: await listConsents(db, req.subject!.id) });
  });

  bulkRoute(router, '/consents/delete', {
    verb: 'Delete',
    noun: ['consent', 'consents'],
    changedEvent: 'tab-changed',
    back: (req) => tabUrl(req.subject!, 'consents'),
    load: async (req, ids) => {
      const wanted = new Set(ids);
      return (await listConsents(db, req.subject!.id))
        .filter((c) => wanted.has(String(c.id)))
        .map((c) => ({ id: c.id, label: c.application, details: [c.scopes.join(' '), `given ${formatDateTime(c.created)}`] }));
    },
    warning: () => 'These applications will ask for consent again at their next sign-in.',
    apply: async (req, items) => {
      const user = req.subject!;
      const deleted = (
        await deleteConsents(
          db,
          user,
          items.map((i) => Number(i.id)),
          actorOf(req),
        )
      ).length;
      return deleted ? `${deleted === 1 ? 'Consent' : `${deleted} consents`} of ${user.username} deleted.` : null;
    },
  });
  return router;
}
