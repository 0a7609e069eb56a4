import { Router } from 'express';
import type { Knex } from 'knex';
import { recordEvent } from '../../../events/events.js';
import { bulkRoute } from '../../../http/bulk.js';
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
      return (await listConsents(db, req.subject!.id)).filter((c) => wanted.has(String(c.id)))
        .map((c) => ({ id: c.id, label: c.application, details: [c.scopes.join(' '), `given ${formatDateTime(c.created)}`] }));
    },
    warning: () => 'These applications will ask for consent again at their next sign-in.',
    apply: async (req, items) => {
      const user = req.subject!;
      const deleted = await db.transaction(async (trx) => {
        const ids = new Set(await deleteConsents(trx, user.id, items.map((i) => Number(i.id))));
        const gone = items.filter((i) => ids.has(Number(i.id)));
        if (gone.length) {
          await recordEvent(trx, {
            action: 'model_deleted', user: req.user, app: 'roster.oauth', clientIp: req.ip,
            context: { model: { model_name: 'consent' }, user: user.username, applications: gone.map((i) => i.label) },
          });
        }
        return gone.length;
      });
      return deleted ? `${deleted === 1 ? 'Consent' : `${deleted} consents`} of ${user.username} deleted.` : null;
    },
  });
  return router;
}
