import { Router } from 'express';
import type { Knex } from 'knex';
import { bulkRoute } from '../../../http/bulk.js';
import { actorOf } from '../../../http/guard.js';
import { formatDateTime } from '../../../http/view-helpers.js';
import { deleteRefreshTokens, listRefreshTokens } from '../../../oauth/grants.js';
import { renderTab, tabUrl } from './tabs.js';

/** The OAuth refresh tokens tab; deleted tokens are refused at the token endpoint. */
export function tokensTab(db: Knex): Router {
  const router = Router();

  router.get('/tokens', async (req, res) => {
    await renderTab(req, res, 'tokens', { tokens: await listRefreshTokens(db, req.subject!.id) });
  });

  bulkRoute(router, '/tokens/delete', {
    verb: 'Delete',
    noun: ['refresh token', 'refresh tokens'],
    changedEvent: 'tab-changed',
    back: (req) => tabUrl(req.subject!, 'tokens'),
    load: async (req, ids) => {
      const wanted = new Set(ids);
      return (await listRefreshTokens(db, req.subject!.id))
        .filter((t) => wanted.has(t.id))
        .map((t) => ({ id: t.id, label: t.application, details: [t.scopes.join(' '), `issued ${formatDateTime(t.issued)}`] }));
    },
    warning: () => 'The applications holding these tokens can no longer refresh access; the user signs in again there.',
    apply: async (req, items) => {
      const user = req.subject!;
      const count = (
        await deleteRefreshTokens(
          db,
          user,
          items.map((i) => String(i.id)),
          actorOf(req),
        )
      ).length;
      return count ? `${count === 1 ? 'Refresh token' : `${count} refresh tokens`} of ${user.username} revoked.` : null;
    },
  });
  return router;
}
