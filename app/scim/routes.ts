import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { checkKey } from '../directory/tokens/tokens.js';
import { HttpError } from '../errors.js';
import { BODY_DEPTH, deeperThan } from '../http/body.js';
import { findSessionUser, mayUse } from '../identity/identity.js';
import { runBulk } from './bulk.js';
import { BULK_MAX_BYTES, RESOURCE_TYPES, resourceTypeOf, SCHEMAS, schemaOf, serviceProviderConfig } from './discovery.js';
import { invalidSyntax, invalidValue, notFound, ScimError } from './errors.js';
import { groupStore } from './groups.js';
import { readPatch } from './patch.js';
import { project, type Resource, readListQuery, resourceBody, type Scope, type Store } from './resource.js';
import { LIST_SCHEMA, type ResourceType, resolvePath, SEARCH_SCHEMA } from './schema.js';
import { userStore } from './users.js';

declare global {
  namespace Express {
    interface Request {
      scim?: Scope;
    }
  }
}

export const SCIM_PATH = '/scim/v2';
const CONTENT_TYPE = 'application/scim+json; charset=utf-8';

function send(res: Response, status: number, body: unknown): void {
  const version = (body as { meta?: { version?: string } })?.meta?.version;
  if (version) res.set('ETag', version);
  res.status(status).type(CONTENT_TYPE).send(JSON.stringify(body));
}

/** JSON bodies of SCIM's media type (and plain JSON), up to Bulk's maximum; errors as SCIM errors. */
function scimBody(): express.RequestHandler {
  const parse = express.json({ type: ['application/scim+json', 'application/json', 'application/*+json'], limit: BULK_MAX_BYTES });
  return (req, res, next) =>
    parse(req, res, (err?: unknown) => {
      if (err) {
        const status = (err as { status?: number }).status;
        if (status === 413)
          return next(new ScimError(413, 'tooMany', `The request is larger than ${BULK_MAX_BYTES} bytes, the most Roster takes.`));
        if (status === 415) return next(invalidSyntax('The body must be JSON in UTF-8 (Content-Type: application/scim+json).'));
        return next(invalidSyntax('The body is not well-formed JSON.'));
      }
      if (deeperThan(req.body, BODY_DEPTH)) return next(invalidSyntax(`The body is nested too deeply: at most ${BODY_DEPTH} levels.`));
      next();
    });
}

/** A SCIM token of an active administrator; its folder and owner become the request's scope. */
function scimAuth(config: Config, db: Knex): express.RequestHandler {
  return async (req, _res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '');
    if (!match) return next(new ScimError(401, undefined, 'Authentication required: Authorization: Bearer <SCIM token>.'));
    const verdict = await checkKey(db, match[1], req.ip);
    if (!verdict.ok) return next(new ScimError(401, undefined, `Authentication failed: ${verdict.reason}.`));
    if (verdict.purpose !== 'scim')
      return next(
        new ScimError(403, undefined, 'This token is not for SCIM provisioning: make one with that purpose on Directory > Tokens.'),
      );
    const owner = await findSessionUser(db, verdict.userId);
    if (!owner || !mayUse(owner) || !owner.isAdmin)
      return next(new ScimError(403, undefined, 'The token’s owner is no longer an active administrator.'));
    const client = (req.get('User-Agent') ?? '').slice(0, 200);
    req.scim = {
      tokenId: verdict.tokenId,
      path: verdict.path,
      actor: { ...owner, ip: req.ip, via: { scim_token: verdict.identifier, client } },
      base: `${config.publicUrl}${SCIM_PATH}`,
    };
    next();
  };
}

/**
 * Whether a page shows an attribute at all, so that what it costs (a user's groups, a group's
 * members) is read only then: excluded whole, or not among the attributes asked for, it is not.
 */
function wants(type: ResourceType, attributes: string[], excluded: string[]) {
  const named = (paths: string[], name: string, whole: boolean) =>
    paths.some((path) => {
      const found = resolvePath(type, path);
      return found?.attr.name === name && (!whole || !found.sub);
    });
  return (name: string) => !named(excluded, name, true) && (!attributes.length || named(attributes, name, false));
}

async function listOf(db: Knex, stores: Store[], scope: Scope, params: Record<string, unknown>) {
  const query = readListQuery(params);
  const pages: Resource[] = [];
  let total = 0;
  let skip = query.startIndex - 1;
  let room = query.count;
  let unknownEverywhere = true;
  let lastError: unknown;
  for (const store of stores) {
    let result: { total: number; resources: Resource[] };
    try {
      const counted = await store.list(db, scope, {
        ...query,
        startIndex: 1 + skip,
        count: room,
        wants: wants(store.type, query.attributes, query.excludedAttributes),
      });
      result = counted;
    } catch (err) {
      // Searching all types at once (/.search), a filter on attributes one type lacks finds none of it.
      if (stores.length > 1 && err instanceof ScimError && err.scimType === 'invalidFilter') {
        lastError = err;
        continue;
      }
      throw err;
    }
    unknownEverywhere = false;
    total += result.total;
    skip = Math.max(0, skip - result.total);
    room -= result.resources.length;
    pages.push(...result.resources.map((r) => project(store.type, r, query.attributes, query.excludedAttributes)));
  }
  if (unknownEverywhere && lastError) throw lastError;
  return { schemas: [LIST_SCHEMA], totalResults: total, itemsPerPage: pages.length, startIndex: query.startIndex, Resources: pages };
}

/** A list of all there is, in one page (discovery endpoints do not page). */
function everything(resources: unknown[]) {
  return { schemas: [LIST_SCHEMA], totalResults: resources.length, itemsPerPage: resources.length, startIndex: 1, Resources: resources };
}

function searchBody(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidSyntax('The body must be a SearchRequest object.');
  const schemas = (body as Resource).schemas;
  if (!Array.isArray(schemas) || !schemas.includes(SEARCH_SCHEMA)) throw invalidValue(`schemas must list ${SEARCH_SCHEMA}.`);
  return body as Record<string, unknown>;
}

function resourceRoutes(router: Router, db: Knex, store: Store): void {
  const path = store.type.endpoint;
  const selection = (req: Request) => ({
    attributes: readListQuery({ attributes: req.query.attributes }).attributes,
    excluded: readListQuery({ excludedAttributes: req.query.excludedAttributes }).excludedAttributes,
  });
  const show = (req: Request, res: Response, status: number, resource: Resource) => {
    const { attributes, excluded } = selection(req);
    send(res, status, project(store.type, resource, attributes, excluded));
  };

  router.get(path, async (req, res) => send(res, 200, await listOf(db, [store], req.scim!, req.query as Record<string, unknown>)));
  router.post(`${path}/.search`, async (req, res) => send(res, 200, await listOf(db, [store], req.scim!, searchBody(req.body))));
  router.post(path, async (req, res) => {
    const created = await store.create(db, req.scim!, resourceBody(store.type, req.body));
    res.location(String((created.meta as { location: string }).location));
    show(req, res, 201, created);
  });
  router.get(`${path}/:id`, async (req, res) => {
    const resource = await store.get(db, req.scim!, req.params.id);
    const version = (resource.meta as { version: string }).version;
    const none = req.get('If-None-Match');
    if (none && none.split(',').some((tag) => tag.trim() === '*' || tag.trim().replace(/^W\//i, '') === version.replace(/^W\//, ''))) {
      res.set('ETag', version).status(304).end();
      return;
    }
    show(req, res, 200, resource);
  });
  router.put(`${path}/:id`, async (req, res) => {
    show(req, res, 200, await store.replace(db, req.scim!, req.params.id, resourceBody(store.type, req.body), req.get('If-Match')));
  });
  router.patch(`${path}/:id`, async (req, res) => {
    show(req, res, 200, await store.patch(db, req.scim!, req.params.id, readPatch(req.body), req.get('If-Match')));
  });
  router.delete(`${path}/:id`, async (req, res) => {
    await store.remove(db, req.scim!, req.params.id, req.get('If-Match'));
    res.status(204).end();
  });
}

/**
 * /scim/v2: SCIM 2.0 (RFC 7643, RFC 7644) for provisioning clients. Bearer tokens with the SCIM
 * purpose only; no session, no CSRF (a program, not a browser); every answer and error is SCIM JSON.
 */
export function scimRoutes(config: Config, db: Knex): Router {
  const router = Router();
  const users = userStore(config);
  const groups = groupStore();
  router.use(scimBody(), scimAuth(config, db));

  const base = (req: Request) => req.scim!.base;
  router.get('/ServiceProviderConfig', (req, res) => send(res, 200, serviceProviderConfig(base(req))));
  router.get('/ResourceTypes', (req, res) => send(res, 200, everything(RESOURCE_TYPES.map((t) => resourceTypeOf(t, base(req))))));
  router.get('/ResourceTypes/:name', (req, res) => {
    const type = RESOURCE_TYPES.find((t) => t.name === req.params.name);
    if (!type) throw notFound(`There is no resource type ${req.params.name}.`);
    send(res, 200, resourceTypeOf(type, base(req)));
  });
  router.get('/Schemas', (req, res) => send(res, 200, everything(SCHEMAS.map((s) => schemaOf(s, base(req))))));
  router.get('/Schemas/:id', (req, res) => {
    const schema = SCHEMAS.find((s) => s.id === req.params.id);
    if (!schema) throw notFound(`There is no schema ${req.params.id}.`);
    send(res, 200, schemaOf(schema, base(req)));
  });
  resourceRoutes(router, db, users);
  resourceRoutes(router, db, groups);
  router.post('/.search', async (req, res) => send(res, 200, await listOf(db, [users, groups], req.scim!, searchBody(req.body))));
  router.post('/Bulk', async (req, res) => {
    const result = await runBulk(db, req.scim!, { Users: users, Groups: groups }, req.body);
    send(res, 200, result);
  });

  router.use((req: Request) => {
    throw notFound(`There is nothing at ${SCIM_PATH}${req.path}.`);
  });
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = toScimError(err);
    if (error.status >= 500) req.log?.error({ err }, 'SCIM request failed');
    if (error.status === 401) res.set('WWW-Authenticate', 'Bearer realm="scim"');
    send(res, error.status, error.body());
  });
  return router;
}

/**
 * Another version of SCIM than 2.0 (`/scim/v1/…`): a SCIM error saying which one Roster speaks
 * (RFC 7644 §3.13, invalidVers), rather than a web page's 404.
 */
export function otherScimVersions(): Router {
  const router = Router();
  router.use((req: Request, res: Response) => {
    const error = new ScimError(
      400,
      'invalidVers',
      `Roster speaks SCIM 2.0, at ${SCIM_PATH}; ${req.baseUrl}${req.path.split('/').slice(0, 2).join('/')} is not a version it has.`,
    );
    send(res, 400, error.body());
  });
  return router;
}

export function toScimError(err: unknown): ScimError {
  if (err instanceof ScimError) return err;
  if (err instanceof HttpError) return new ScimError(err.status, undefined, err.message);
  // Express's own refusals (a path segment that is not valid percent-encoded UTF-8: 400).
  const status = (err as { status?: number } | null)?.status;
  if (status && status >= 400 && status < 500)
    return new ScimError(status, undefined, 'The request could not be read: its URL is not well-formed.');
  return new ScimError(500, undefined, 'Roster could not complete this request. It has been logged; please try again.');
}
