import { Router } from 'express';
import type { Knex } from 'knex';
import { bulkRoute } from '../../../http/bulk.js';
import { actorOf } from '../../../http/guard.js';
import { formatDateTime } from '../../../http/view-helpers.js';
import { deleteAuthenticators, listAuthenticators, TYPE_NAMES } from '../../../mfa/authenticators.js';
import { renderTab, tabUrl } from './tabs.js';

/** The MFA authenticators tab: a user who lost a device gets it removed and enrols again. */
export function authenticatorsTab(db: Knex): Router {
  const router = Router();

  router.get('/authenticators', async (req, res) => {
    await renderTab(req, res, 'authenticators', { authenticators: await listAuthenticators(db, req.subject!.id), typeNames: TYPE_NAMES });
  });

  bulkRoute(router, '/authenticators/delete', {
    verb: 'Delete',
    noun: ['authenticator', 'authenticators'],
    changedEvent: 'tab-changed',
    back: (req) => tabUrl(req.subject!, 'authenticators'),
    load: async (req, ids) => {
      const wanted = new Set(ids);
      return (await listAuthenticators(db, req.subject!.id))
        .filter((a) => wanted.has(String(a.id)))
        .map((a) => ({ id: a.id, label: a.name, details: [TYPE_NAMES[a.type], `added ${formatDateTime(a.created)}`] }));
    },
    warning: () => 'Without these devices, login asks only for what remains (or only the password).',
    apply: async (req, items) => {
      const user = req.subject!;
      const count = (
        await deleteAuthenticators(
          db,
          user,
          items.map((i) => Number(i.id)),
          actorOf(req),
        )
      ).length;
      return count ? `${count === 1 ? '1 authenticator' : `${count} authenticators`} of ${user.username} removed.` : null;
    },
  });
  return router;
}
