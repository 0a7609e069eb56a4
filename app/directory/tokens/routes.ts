import { type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import type { Actor } from '../../events/events.js';
import { type BulkAction, bulkRoute } from '../../http/bulk.js';
import { actorOf } from '../../http/guard.js';
import { isRegion } from '../../http/htmx.js';
import { formatDateTime } from '../../http/view-helpers.js';
import { normalName } from '../../identity/names.js';
import { text } from '../form-fields.js';
import { pathProblem } from '../users/rules.js';
import { createToken, deleteTokens, listTokens, listTokensWithCounts, revokeTokens, TOKEN_PURPOSES, type TokenPurpose } from './tokens.js';

const LIFETIMES: [string, number | null][] = [
  ['30 days', 30],
  ['90 days', 90],
  ['1 year', 365],
  ['Never', null],
];
const DAY = 86_400_000;
const PURPOSES: [TokenPurpose, string][] = [
  ['api', 'API (form posts and /api/v3)'],
  ['scim', 'SCIM provisioning (/scim/v2 only)'],
];

interface Values {
  identifier: string;
  description: string;
  owner: string;
  expires_in: string;
  purpose: string;
  path: string;
}

/**
 * Directory > Tokens: tokens for programs. An API token posts forms and calls /api/v3 as its owner;
 * a SCIM provisioning token only calls /scim/v2, within its folder.
 */
export function tokenRoutes(db: Knex): Router {
  const router = Router();

  function form(req: Request, res: Response, values: Values, errors: Partial<Record<keyof Values, string>>, status = 200) {
    const locals = {
      title: 'Create token',
      nav: 'tokens',
      content: '../directory/tokens/_form',
      values,
      errors,
      lifetimes: LIFETIMES,
      purposes: PURPOSES,
      crumbs: [{ href: '/directory/tokens', text: 'Tokens' }],
    };
    return res.dialog(locals, status);
  }

  const selected = async (ids: string[]) => {
    const wanted = new Set(ids);
    return (await listTokens(db))
      .filter((t) => wanted.has(String(t.id)))
      .map((t) => ({
        id: t.id,
        label: t.identifier,
        details: [`owner ${t.owner}`, t.revoked ? 'revoked' : `expires ${formatDateTime(t.expires, 'never')}`],
      }));
  };
  const action = (verb: 'Revoke' | 'Delete', apply: (ids: number[], actor: Actor) => Promise<unknown[]>): BulkAction => ({
    verb,
    noun: ['token', 'tokens'],
    changedEvent: 'tokens-changed',
    back: () => '/directory/tokens',
    load: (_req, ids) => selected(ids),
    warning: () => 'Programs using these tokens are refused from now on.',
    apply: async (req, items) => {
      const done = (
        await apply(
          items.map((i) => Number(i.id)),
          actorOf(req),
        )
      ).length;
      return done ? `${done === 1 ? 'Token' : `${done} tokens`} ${verb === 'Revoke' ? 'revoked' : 'deleted'}.` : null;
    },
  });
  bulkRoute(
    router,
    '/revoke',
    action('Revoke', (ids, actor) => revokeTokens(db, ids, actor)),
  );
  bulkRoute(
    router,
    '/delete',
    action('Delete', (ids, actor) => deleteTokens(db, ids, actor)),
  );

  router.get('/', async (req, res) => {
    const locals = { title: 'Tokens', nav: 'tokens', tokens: await listTokensWithCounts(db) };
    if (isRegion(req, 'tokens-table')) return res.fragment('directory/tokens/_table', locals);
    await res.page('directory/tokens/index', locals);
  });

  router.get('/new', (req, res) =>
    form(req, res, { identifier: '', description: '', owner: req.user!.username, expires_in: '90', purpose: 'api', path: '' }, {}),
  );

  router.post('/', async (req, res) => {
    const values: Values = {
      identifier: text(req.body?.identifier).trim(),
      description: text(req.body?.description).trim(),
      owner: text(req.body?.owner).trim() || req.user!.username,
      expires_in: text(req.body?.expires_in) || '90',
      purpose: text(req.body?.purpose) || 'api',
      path: text(req.body?.path).trim(),
    };
    const errors: Partial<Record<keyof Values, string>> = {};
    if (!/^[a-z0-9][a-z0-9._-]{0,99}$/i.test(values.identifier))
      errors.identifier = 'Use 1 to 100 letters, digits, dots, dashes or underscores';
    if (values.description.length > 255) errors.description = 'Use at most 255 characters';
    const owner = await db('users').where({ username: values.owner }).first('id');
    if (!owner) errors.owner = `There is no user named “${values.owner}”`;
    const lifetime = LIFETIMES.find(([, days]) => String(days ?? 'never') === values.expires_in);
    if (!lifetime) errors.expires_in = 'Choose a lifetime from the list';
    const purpose = TOKEN_PURPOSES.find((p) => p === values.purpose);
    if (!purpose) errors.purpose = 'Choose a purpose from the list';
    if (values.path && purpose === 'api')
      errors.path = 'Only a SCIM provisioning token has a folder: leave it empty, or choose SCIM provisioning';
    else if (values.path) {
      const problem = pathProblem(values.path);
      if (problem) errors.path = problem;
    }
    if (Object.keys(errors).length) return form(req, res, values, errors, 422);
    const days = lifetime![1];
    const result = await createToken(
      db,
      {
        identifier: values.identifier,
        description: values.description,
        ownerId: owner!.id,
        expires: days ? new Date(Date.now() + days * DAY) : null,
        purpose: purpose!,
        path: values.path ? normalName(values.path) : null, // as users' folders are kept
      },
      actorOf(req),
    );
    if (!result.ok) return form(req, res, values, { [result.field]: result.message }, 422);
    res.set('Cache-Control', 'no-store').set('HX-Trigger', 'tokens-changed').status(201);
    const locals = {
      title: `Token ${result.token.identifier}`,
      nav: 'tokens',
      content: '../directory/tokens/_key',
      token: result.token,
      key: result.key,
      crumbs: [{ href: '/directory/tokens', text: 'Tokens' }],
    };
    return res.dialog(locals, 201);
  });

  return router;
}
