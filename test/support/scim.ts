import request from 'supertest';
import { createToken } from '../../app/directory/tokens/tokens.js';
import { createUser, type TestApp } from './app.js';

export const SCIM_JSON = 'application/scim+json';
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ROSTER = 'urn:roster:params:scim:schemas:extension:roster:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

/** A SCIM token (of an administrator, bound to `path` when given) and requests made with it. */
export async function scimClient(t: TestApp, options: { path?: string | null; ownerId?: number; identifier?: string } = {}) {
  const ownerId =
    options.ownerId ?? (await createUser(t.db, { username: `scim-owner-${Math.random().toString(36).slice(2, 7)}`, admin: true }));
  const owner = (await t.db('users').where({ id: ownerId }).first())!;
  const made = await createToken(
    t.db,
    {
      identifier: options.identifier ?? `scim-${Math.random().toString(36).slice(2, 8)}`,
      description: '',
      ownerId,
      expires: null,
      purpose: 'scim',
      path: options.path ?? null,
    },
    { id: owner.id, username: owner.username, email: owner.email },
  );
  if (!made.ok) throw new Error('token');
  const key = made.key;
  const auth = { Authorization: `Bearer ${key}`, 'User-Agent': 'roster-tests/1.0' };
  const send = (method: 'post' | 'put' | 'patch', path: string, body: unknown, headers: Record<string, string> = {}) =>
    request(t.app)
      [method](`/scim/v2${path}`)
      .set({ ...auth, 'Content-Type': SCIM_JSON, ...headers })
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    key,
    tokenId: made.token.id,
    ownerId,
    get: (path: string, headers: Record<string, string> = {}) =>
      request(t.app)
        .get(`/scim/v2${path}`)
        .set({ ...auth, ...headers }),
    post: (path: string, body: unknown, headers?: Record<string, string>) => send('post', path, body, headers),
    put: (path: string, body: unknown, headers?: Record<string, string>) => send('put', path, body, headers),
    patch: (path: string, body: unknown, headers?: Record<string, string>) => send('patch', path, body, headers),
    del: (path: string, headers: Record<string, string> = {}) =>
      request(t.app)
        .delete(`/scim/v2${path}`)
        .set({ ...auth, ...headers }),
  };
}

export type ScimClient = Awaited<ReturnType<typeof scimClient>>;

export const newUser = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER], userName, ...extra });
export const patchOf = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
