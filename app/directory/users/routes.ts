import { type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../../config.js';
import { recentEvents } from '../../events/events.js';
import { wantsJson } from '../../http/accepts.js';
import { actorOf } from '../../http/guard.js';
import { isRegion } from '../../http/htmx.js';
import { finishDialog } from '../../http/render.js';
import { openedFrom, postedFrom } from '../../http/return-to.js';
import { provisioner } from '../tokens/tokens.js';
import { BULK_ACTIONS, bulkActionRoutes } from './bulk/routes.js';
import { exportRoutes } from './export.js';
import { folderPaths, folderTree } from './folders.js';
import { attributesText, NEW_USER_VALUES, readUserForm, type UserFormErrors, type UserFormValues, userFormValues } from './form.js';
import { activationRoutes, deleteUsersRoute } from './lifecycle.js';
import { describeList } from './list-count.js';
import { searchUsers } from './list-query.js';
import { filterQuery, parseFilter, SORTS, sortParam } from './list-url.js';
import { offboardingRoutes } from './offboarding/routes.js';
import { recoveryRoutes } from './recovery.js';
import { loadSubject } from './request.js';
import { pathProblem } from './rules.js';
import { authenticatorsTab } from './tabs/authenticators.js';
import { consentsTab } from './tabs/consents.js';
import { eventsTab } from './tabs/events.js';
import { groupsTab } from './tabs/groups.js';
import { sessionsTab } from './tabs/sessions.js';
import { renderTab } from './tabs/tabs.js';
import { tokensTab } from './tabs/tokens.js';
import { unlockRoutes } from './unlock.js';
import { createUser, type SaveResult, USERNAME_TAKEN, type User, updateUser, usernameTaken } from './users.js';

/** The user form, as a modal for htmx or as its own page. */
function showForm(
  req: Request,
  res: Response,
  locals: { user?: User; values: UserFormValues; errors: UserFormErrors; from?: string },
  status = 200,
) {
  const user = locals.user;
  const view = {
    ...locals,
    title: user ? `Edit ${user.username}` : 'Create user',
    action: user ? `/directory/users/${user.id}` : '/directory/users',
    nav: 'users',
    content: '../directory/users/_form',
    crumbs: [{ href: '/directory/users', text: 'Users' }, ...(user ? [{ href: `/directory/users/${user.id}`, text: user.username }] : [])],
  };
  return res.dialog(view, status);
}

/**
 * The URL space /directory/users. The collection's fixed names (new, delete, the bulk actions,
 * export.csv, scheduled, …) come first, so that none of them is read as a user id; then `:userId`
 * loads the user once for every route about one user: its page and form, its tabs, activation,
 * recovery and offboarding.
 */
export function userRoutes(config: Config, db: Knex): Router {
  const users = Router();
  const recovery = recoveryRoutes(config, db);
  const offboarding = offboardingRoutes(db);
  users.use(listRoutes(db), exportRoutes(db), deleteUsersRoute(config, db), bulkActionRoutes(db), recovery.byId, offboarding.list);
  users.param('userId', loadSubject(db));
  users.use(
    '/:userId',
    offboarding.member,
    userPageRoutes(db),
    activationRoutes(db),
    unlockRoutes(db),
    recovery.member,
    sessionsTab(db),
    groupsTab(db),
    eventsTab(db),
    consentsTab(db),
    tokensTab(db),
    authenticatorsTab(db),
  );
  return users;
}

/**
 * Every field's message at once: the model's refusal when saving failed, and — unless that refusal
 * was about the username — a look-up, so a taken username is not news on the next try.
 */
async function allErrors(db: Knex, form: { values: UserFormValues; errors: UserFormErrors }, saved?: SaveResult, exceptId?: number) {
  const errors = saved && !saved.ok ? { ...form.errors, [saved.field]: saved.message } : form.errors;
  if (!errors.username && (await usernameTaken(db, form.values.username.trim(), exceptId))) {
    return { ...errors, username: USERNAME_TAKEN };
  }
  return errors;
}

/** The list, and the form that creates a user. */
function listRoutes(db: Knex): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const filter = parseFilter(req.query);
    // The filter form's "Any status" sends an empty status=: the list's URL leaves it out, as it
    // leaves out every empty parameter (a redirect without JavaScript, the pushed URL with htmx).
    if (req.query.status === '') {
      const canonical = `/directory/users${filterQuery(filter)}`;
      if (!req.htmx) return res.redirect(303, canonical);
      res.set('HX-Push-Url', canonical);
    }
    const paths = await folderPaths(db);
    const page = await searchUsers(db, filter, paths);
    const count = describeList(page, filter);
    const locals = {
      title: 'Users',
      nav: 'users',
      filter,
      page,
      count,
      folders: folderTree(paths),
      sorts: SORTS,
      filterQuery,
      sortParam,
      bulkActions: BULK_ACTIONS,
    };
    if (isRegion(req, 'users-table')) return res.fragment('directory/users/_results', locals);
    await res.page('directory/users/index', locals);
  });

  router.get('/new', async (req, res) => {
    const path = typeof req.query.path === 'string' && !pathProblem(req.query.path) ? req.query.path : NEW_USER_VALUES.path;
    await showForm(req, res, { values: { ...NEW_USER_VALUES, path }, errors: {} });
  });

  router.post('/', async (req, res) => {
    const form = readUserForm(req.body);
    const saved = form.fields && (await createUser(db, form.fields, actorOf(req)));
    if (!saved || !saved.ok) {
      return showForm(req, res, { values: form.values, errors: await allErrors(db, form, saved) }, 422);
    }
    const { user } = saved;
    if (req.apiToken) {
      res.status(201).location(`/directory/users/${user.id}`);
      return wantsJson(req) ? res.json({ id: user.id, uuid: user.uuid, username: user.username }) : res.end();
    }
    await finishDialog(req, res, {
      changed: 'users-changed',
      toast: { message: `User ${user.username} created.`, link: { href: `/directory/users/${user.id}`, text: 'Open user' } },
      back: `/directory/users${filterQuery(parseFilter({}), { path: user.path })}`,
    });
  });

  return router;
}

/** One user's page (the Overview tab), and the form that edits them. */
function userPageRoutes(db: Knex): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const user = req.subject!;
    await renderTab(req, res, 'overview', {
      attributes: attributesText(user.attributes),
      recentEvents: await recentEvents(db, user.id),
      provisioner: await provisioner(db, user.provisionedBy),
    });
  });

  router.get('/edit', async (req, res) => {
    await showForm(req, res, { user: req.subject, values: userFormValues(req.subject!), errors: {}, from: openedFrom(req) });
  });

  router.post('/', async (req, res) => {
    const before = req.subject!;
    const form = readUserForm(req.body, userFormValues(before));
    const saved = form.fields && (await updateUser(db, before, form.fields, actorOf(req)));
    if (!saved || !saved.ok) {
      return showForm(
        req,
        res,
        { user: before, values: form.values, errors: await allErrors(db, form, saved, before.id), from: postedFrom(req) },
        422,
      );
    }
    const { user, changed } = saved;
    await finishDialog(req, res, {
      changed: 'users-changed',
      toast: changed.length ? `User ${user.username} updated.` : { message: `No changes to ${user.username}.`, kind: 'info' },
      back: postedFrom(req) ?? `/directory/users/${user.id}`,
    });
  });

  return router;
}
