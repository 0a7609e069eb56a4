import { type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import { bulkRoute } from '../../../http/bulk.js';
import { actorOf } from '../../../http/guard.js';
import { isRegion } from '../../../http/htmx.js';
import { toast } from '../../../http/toast.js';
import { text } from '../../form-fields.js';
import { addMembership, findGroupByNameOrId, groupChoices, groupsOfUser, removeMemberships } from '../../groups/groups.js';
import { renderTab, tabUrl } from './tabs.js';

/** The Groups tab: the user's memberships; add one by name, remove selected ones. */
export function groupsTab(db: Knex): Router {
  const router = Router();

  async function show(req: Request, res: Response, form: { value: string; error?: string } = { value: '' }, status = 200) {
    const [groups, choices] = await Promise.all([groupsOfUser(db, req.subject!.id), groupChoices(db)]);
    await renderTab(req, res, 'groups', { groups, choices, form }, status);
  }

  router.get('/groups', (req, res) => show(req, res));

  router.post('/groups', async (req, res) => {
    const user = req.subject!;
    const wanted = text(req.body?.group).trim();
    const group = wanted ? await findGroupByNameOrId(db, wanted) : undefined;
    if (!group) {
      const error = wanted ? `There is no group named “${wanted}”` : 'Choose a group';
      return show(req, res, { value: wanted, error }, 422);
    }
    const added = await addMembership(db, user, group, actorOf(req));
    toast(req, added ? `${user.username} added to ${group.name}.` : `${user.username} is in ${group.name} already.`, {
      kind: added ? 'success' : 'info',
    });
    if (isRegion(req, 'user-tabs')) return show(req, res);
    res.redirect(303, tabUrl(user, 'groups'));
  });

  bulkRoute(router, '/groups/remove', {
    verb: 'Remove',
    noun: ['membership', 'memberships'],
    changedEvent: 'tab-changed',
    back: (req) => tabUrl(req.subject!, 'groups'),
    load: async (req, ids) => {
      const wanted = new Set(ids);
      return (await groupsOfUser(db, req.subject!.id))
        .filter((g) => wanted.has(String(g.id)))
        .map((g) => ({ id: g.id, label: g.name, details: g.isSuperuser ? ['superuser group'] : [] }));
    },
    apply: async (req, items) => {
      const user = req.subject!;
      const removed = await removeMemberships(
        db,
        user,
        items.map((i) => ({ id: Number(i.id), name: i.label })),
        actorOf(req),
      );
      return removed.length ? `${user.username} removed from ${removed.map((g) => g.name).join(', ')}.` : null;
    },
  });

  return router;
}
