import { type NextFunction, type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import { passwordProblem } from '../auth/passwords.js';
import type { Config } from '../config.js';
import { findGroupByUuid, groupsByOffset, memberIds } from '../directory/groups/groups.js';
import { REASON_MAX } from '../directory/users/bulk/routes.js';
import { SKIPPED } from '../directory/users/bulk/writes.js';
import { NEW_USER_VALUES, readUserForm, userFormValues } from '../directory/users/form.js';
import { lockDown } from '../directory/users/lockdown.js';
import { loadSubject } from '../directory/users/request.js';
import { createUser, deleteUsers, findById, type UserApiFilter, updateUser, userPaths, usersByOffset } from '../directory/users/users.js';
import { HttpError, RuleError } from '../errors.js';
import { actorOf } from '../http/guard.js';
import { entryOf, parseId } from '../http/params.js';
import { deleteSessions, listSessions, sessionOwner } from '../identity/sessions.js';
import { recoveryActions } from '../recovery/actions.js';
import { serializeGroup, serializeUsers } from './serializers.js';

const ORDERING: Record<string, UserApiFilter['order']['column']> = {
  pk: 'id',
  username: 'username',
  name: 'name',
  email: 'email',
  last_login: 'last_login',
  date_joined: 'date_joined',
  is_active: 'is_active',
  path: 'path',
};

/** DRF-style validation errors, as authentik's clients expect them: `{ field: ["message"] }`. */
function validationError(res: Response, errors: Record<string, string>) {
  res.status(400).json(Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, [v]])));
}

/** An authentik UserRequest (JSON) as the form fields the web form takes: one set of rules for both. */
function formBody(body: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['username', 'name', 'email', 'path', 'type'] as const)
    if (body[key] !== undefined && body[key] !== null) out[key] = String(body[key]);
  if (typeof body.is_active === 'boolean') out.is_active = String(body.is_active);
  // ISO 8601 (with Z or an offset), or null for never. Anything else goes on as JSON, which the
  // form's rules refuse: a list holding a time is not a time.
  const validUntil = body.valid_until;
  if (validUntil !== undefined)
    out.valid_until = validUntil === null ? '' : typeof validUntil === 'string' ? validUntil : JSON.stringify(validUntil);
  if (body.attributes !== undefined) out.attributes = JSON.stringify(body.attributes ?? {});
  return out;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function bool(value: unknown): boolean | undefined {
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

function page(req: Request) {
  const number = Math.max(1, Number.parseInt(String(req.query.page ?? '1'), 10) || 1);
  const size = Math.min(1000, Math.max(1, Number.parseInt(String(req.query.page_size ?? '100'), 10) || 100));
  return { number, size };
}

function envelope(count: number, number: number, size: number, results: unknown[]) {
  const totalPages = Math.max(1, Math.ceil(count / size));
  return {
    pagination: {
      next: number < totalPages ? number + 1 : 0,
      previous: number > 1 ? number - 1 : 0,
      count,
      current: number,
      total_pages: totalPages,
      start_index: count ? (number - 1) * size + 1 : 0,
      end_index: Math.min(count, number * size),
    },
    results,
  };
}

/**
 * `/api/v3/core/…`: the parts of authentik's API that its own TypeScript client (`@goauthentik/api`,
 * CoreApi) uses for users, groups and sessions. Bearer tokens of administrators only. The handlers
 * call the same model functions as the web pages.
 */
export function apiRoutes(config: Config, db: Knex): Router {
  const router = Router();
  const recovery = recoveryActions(config, db);

  router.use((req: Request, res: Response, next: NextFunction) => {
    if (!req.apiToken)
      return void res.status(401).set('WWW-Authenticate', 'Bearer').json({ detail: 'Authentication credentials were not provided.' });
    if (!req.user?.isAdmin) return void res.status(403).json({ detail: 'You do not have permission to perform this action.' });
    next();
  });
  router.param('userId', loadSubject(db));

  router.get('/core/users/', async (req, res) => {
    const q = req.query;
    const exact: UserApiFilter['exact'] = {};
    for (const key of ['username', 'name', 'email', 'path', 'uuid'] as const) exact[key] = text(q[key]);
    const ordering = text(q.ordering) ?? 'username';
    const filter: UserApiFilter = {
      exact,
      isActive: bool(q.is_active),
      pathStartsWith: text(q.path_startswith),
      search: text(q.search),
      order: { column: entryOf(ORDERING, ordering.replace(/^-/, '')) ?? 'username', desc: ordering.startsWith('-') },
    };
    const { number, size } = page(req);
    const { count, users } = await usersByOffset(db, filter, (number - 1) * size, size);
    res.json(envelope(count, number, size, await serializeUsers(db, users)));
  });

  router.get('/core/users/paths/', async (req, res) => {
    res.json({ paths: await userPaths(db, text(req.query.search)) });
  });

  router.post('/core/users/', async (req, res) => {
    const form = readUserForm(formBody(req.body), NEW_USER_VALUES);
    if (!form.fields) return validationError(res, form.errors);
    const saved = await createUser(db, form.fields, actorOf(req));
    if (!saved.ok) return validationError(res, { [saved.field]: saved.message });
    res
      .status(201)
      .location(`/api/v3/core/users/${saved.user.id}/`)
      .json((await serializeUsers(db, [saved.user]))[0]);
  });

  router.get('/core/users/:userId/', async (req, res) => {
    res.json((await serializeUsers(db, [req.subject!]))[0]);
  });

  const update = (partial: boolean) => async (req: Request, res: Response) => {
    const before = req.subject!;
    const form = readUserForm(formBody(req.body), partial ? userFormValues(before) : { ...NEW_USER_VALUES, username: '' });
    if (!form.fields) return validationError(res, form.errors);
    const saved = await updateUser(db, before, form.fields, actorOf(req));
    if (!saved.ok) return validationError(res, { [saved.field]: saved.message });
    res.json((await serializeUsers(db, [saved.user]))[0]);
  };
  router.put('/core/users/:userId/', update(false));
  router.patch('/core/users/:userId/', update(true));

  router.delete('/core/users/:userId/', async (req, res) => {
    let deleted: Awaited<ReturnType<typeof deleteUsers>>;
    try {
      deleted = await deleteUsers(db, [req.subject!], actorOf(req), { deleteEvents: config.deleteUserEvents });
    } catch (err) {
      if (err instanceof RuleError) return void res.status(400).json({ detail: err.message });
      throw err;
    }
    if (!deleted.length) throw new HttpError(404, 'Not found.'); // another request deleted the user first
    res.status(204).end();
  });

  router.post('/core/users/:userId/recovery/', async (req, res) => {
    if (!req.subject!.isActive) return void res.status(400).json({ detail: 'The user is deactivated.' });
    const { link } = await recovery.copyLink(req, req.subject!, config.recoveryTokenTtlMs);
    res.json({ link });
  });

  router.post('/core/users/:userId/recovery_email/', async (req, res) => {
    const result = await recovery.emailLink(req, req.subject!, config.recoveryTokenTtlMs);
    if (!result.ok) return void res.status(result.status === 422 ? 400 : result.status).json({ detail: result.message });
    res.status(204).end();
  });

  router.post('/core/users/:userId/set_password/', async (req, res) => {
    const password = String(req.body?.password ?? '');
    const problem = passwordProblem(password, req.subject!.username);
    if (problem) return validationError(res, { password: problem });
    await recovery.setPassword(req, req.subject!, password);
    res.status(204).end();
  });

  // authentik's account lockdown (CoreApi.coreUsersAccountLockdownCreate): authentik answers with
  // the link of a flow that does it; Roster does it at once (the same code as the pages' Lockdown)
  // and links to the user's page, whose events say what was revoked. Without `user` authentik
  // locks down the caller: here that is an administrator, which lockdown never acts on.
  router.post('/core/users/account_lockdown/', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.user === undefined || body.user === null)
      return validationError(res, { user: 'Name the user to lock down: an administrator cannot lock down their own account.' });
    const id = parseId(typeof body.user === 'number' ? String(body.user) : body.user);
    if (id === null) return validationError(res, { user: 'A valid integer is required.' });
    const reason =
      typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim().slice(0, REASON_MAX) : 'Account lockdown through the API';
    const [outcome] = await lockDown(db, [id], reason, actorOf(req));
    if (!outcome || outcome.skipped === SKIPPED.gone) throw new HttpError(404, 'Not found.');
    if (outcome.skipped) return void res.status(400).json({ detail: `Not locked down: ${outcome.skipped}.` });
    res.json({ link: `${config.publicUrl}/directory/users/${id}` });
  });

  router.get('/core/groups/', async (req, res) => {
    const { number, size } = page(req);
    const { count, groups } = await groupsByOffset(
      db,
      { name: text(req.query.name), search: text(req.query.search) },
      (number - 1) * size,
      size,
    );
    res.json(
      envelope(
        count,
        number,
        size,
        groups.map((g) => serializeGroup(g, [])),
      ),
    );
  });

  router.get('/core/groups/:groupUuid/', async (req, res) => {
    const group = await findGroupByUuid(db, req.params.groupUuid);
    if (!group) throw new HttpError(404, 'Not found.');
    const users = req.query.include_users === 'false' ? [] : await memberIds(db, group.id);
    res.json(serializeGroup(group, users));
  });

  router.get('/core/authenticated_sessions/', async (req, res) => {
    const userId = req.query.user === undefined ? req.user!.id : parseId(req.query.user);
    if (userId === null) return validationError(res, { user: 'A valid integer is required.' });
    const { number, size } = page(req);
    const sessions = (await findById(db, userId)) ? await listSessions(db, userId, req.sessionID) : [];
    const slice = sessions.slice((number - 1) * size, number * size);
    res.json(
      envelope(
        sessions.length,
        number,
        size,
        slice.map((s) => ({
          uuid: String(s.id),
          current: false,
          user: userId,
          last_ip: s.ip ?? '',
          last_user_agent: s.device,
          last_used: s.lastUsed.toISOString(),
          expires: s.expires.toISOString(),
          user_agent: {
            device: { brand: '', family: '', model: '' },
            os: { family: '', major: '', minor: '', patch: '', patch_minor: '' },
            user_agent: { family: s.device, major: '', minor: '', patch: '' },
            string: s.device,
          },
          geo_ip: null,
          asn: null,
        })),
      ),
    );
  });

  router.delete('/core/authenticated_sessions/:id/', async (req, res) => {
    const id = parseId(req.params.id);
    const owner = id === null ? undefined : await sessionOwner(db, id);
    const deleted = owner ? await deleteSessions(db, owner, [id!], actorOf(req)) : [];
    if (!deleted.length) throw new HttpError(404, 'Not found.'); // no such session, or another request ended it first
    res.status(204).end();
  });

  return router;
}
