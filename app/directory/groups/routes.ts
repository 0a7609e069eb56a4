import { type NextFunction, type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import { HttpError } from '../../errors.js';
import { bulkRoute } from '../../http/bulk.js';
import { actorOf } from '../../http/guard.js';
import { isRegion } from '../../http/htmx.js';
import { parseId, parseIds } from '../../http/params.js';
import { finishDialog } from '../../http/render.js';
import { attributesText, checkbox, parseAttributes, text } from '../form-fields.js';
import { provisioner } from '../tokens/tokens.js';
import { type GroupFormErrors, type GroupFormValues, readGroupForm } from './form.js';
import { createGroup, deleteGroups, findGroup, type Group, type GroupFields, listGroups, membersOf, updateGroup } from './groups.js';

declare global {
  namespace Express {
    interface Request {
      group?: Group;
    }
  }
}

const valuesOf = (g: Group): GroupFormValues => ({ name: g.name, is_superuser: g.isSuperuser, attributes: attributesText(g.attributes) });

function showForm(req: Request, res: Response, locals: { group?: Group; values: GroupFormValues; errors: GroupFormErrors }, status = 200) {
  const group = locals.group;
  const view = {
    ...locals,
    title: group ? `Edit ${group.name}` : 'Create group',
    action: group ? `/directory/groups/${group.id}` : '/directory/groups',
    nav: 'groups',
    content: '../directory/groups/_form',
    crumbs: [
      { href: '/directory/groups', text: 'Groups' },
      ...(group ? [{ href: `/directory/groups/${group.id}`, text: group.name }] : []),
    ],
  };
  return res.dialog(view, status);
}

/** Directory > Groups: list, create, edit, delete; superuser groups make administrators. */
export function groupRoutes(db: Knex): Router {
  const router = Router();

  bulkRoute(router, '/delete', {
    verb: 'Delete',
    noun: ['group', 'groups'],
    changedEvent: 'groups-changed',
    back: () => '/directory/groups',
    load: async (_req, ids) => {
      const groups = await Promise.all(
        parseIds(ids)
          .slice(0, 200)
          .map((id) => findGroup(db, id)),
      );
      return groups
        .filter((g): g is Group => Boolean(g))
        .map((g) => ({
          id: g.id,
          label: g.name,
          details: [`${g.members} ${g.members === 1 ? 'member' : 'members'}`, ...(g.isSuperuser ? ['superuser group'] : [])],
        }));
    },
    warning: () => 'The members stay; only their membership in these groups ends.',
    apply: async (req, items) => {
      const deleted = await deleteGroups(
        db,
        items.map((i) => ({ id: Number(i.id), name: i.label })),
        actorOf(req),
      );
      if (!deleted.length) return null;
      return deleted.length === 1 ? `Group ${deleted[0].name} deleted.` : `${deleted.length} groups deleted.`;
    },
  });

  router.param('groupId', async (req: Request, _res: Response, next: NextFunction, id: string) => {
    const groupId = parseId(id);
    const group = groupId === null ? undefined : await findGroup(db, groupId);
    if (!group) return next(new HttpError(404, 'There is no such group. It may have been deleted.', '/directory/groups'));
    req.group = group;
    next();
  });

  router.get('/', async (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 150) : '';
    const page = await listGroups(db, { q, page: typeof req.query.page === 'string' ? req.query.page : undefined });
    const locals = { title: 'Groups', nav: 'groups', q, page };
    if (isRegion(req, 'groups-table')) return res.fragment('directory/groups/_table', locals);
    await res.page('directory/groups/index', locals);
  });

  router.get('/new', (req, res) => showForm(req, res, { values: { name: '', is_superuser: false, attributes: '{}' }, errors: {} }));

  router.post('/', async (req, res) => {
    const form = readGroupForm(req.body, { name: '', is_superuser: false, attributes: '{}' });
    const saved = form.fields && (await createGroup(db, form.fields, actorOf(req)));
    if (!saved || !saved.ok) {
      return showForm(
        req,
        res,
        { values: form.values, errors: saved && !saved.ok ? { ...form.errors, name: saved.message } : form.errors },
        422,
      );
    }
    await finishDialog(req, res, {
      changed: 'groups-changed',
      toast: { message: `Group ${saved.group.name} created.`, link: { href: `/directory/groups/${saved.group.id}`, text: 'Open group' } },
      back: '/directory/groups',
    });
  });

  router.get('/:groupId', async (req, res) => {
    const group = req.group!;
    const locals = {
      title: group.name,
      nav: 'groups',
      group,
      attributes: attributesText(group.attributes),
      members: await membersOf(db, group.id),
      provisioner: await provisioner(db, group.provisionedBy),
    };
    if (isRegion(req, 'group-page')) return res.fragment('directory/groups/_group', locals);
    await res.page('directory/groups/show', locals);
  });

  router.get('/:groupId/edit', (req, res) => showForm(req, res, { group: req.group, values: valuesOf(req.group!), errors: {} }));

  router.post('/:groupId', async (req, res) => {
    const before = req.group!;
    const form = readGroupForm(req.body, valuesOf(before));
    let saved: Awaited<ReturnType<typeof updateGroup>> | undefined;
    try {
      saved = form.fields && (await updateGroup(db, before, form.fields, actorOf(req)));
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 422) throw err;
      return showForm(req, res, { group: before, values: form.values, errors: { ...form.errors, is_superuser: err.message } }, 422);
    }
    if (!saved || !saved.ok) {
      return showForm(
        req,
        res,
        { group: before, values: form.values, errors: saved && !saved.ok ? { ...form.errors, name: saved.message } : form.errors },
        422,
      );
    }
    await finishDialog(req, res, {
      changed: 'groups-changed',
      toast: `Group ${saved.group.name} saved.`,
      back: `/directory/groups/${before.id}`,
    });
  });

  return router;
}
