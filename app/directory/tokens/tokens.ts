import { createHash, randomBytes } from 'node:crypto';
import type { ApiTokenRow, Db } from '../../db.js';
import { isSqlite, isUniqueViolation, toDate } from '../../db.js';
import type { Actor } from '../../events/events.js';
import { actorEvent, recordEvent, recordEvents } from '../../events/events.js';

/** `api`: form posts and /api/v3, as its owner. `scim`: /scim/v2 only, bound to `path` (null: everywhere). */
export type TokenPurpose = 'api' | 'scim';
export const TOKEN_PURPOSES: readonly TokenPurpose[] = ['api', 'scim'];

export interface ApiToken {
  id: number;
  identifier: string;
  description: string;
  owner: string;
  ownerId: number;
  expires: Date | null;
  revoked: Date | null;
  created: Date;
  lastUsed: Date | null;
  purpose: TokenPurpose;
  /** A SCIM token's folder: it sees and creates users only there and below (null: everywhere). */
  path: string | null;
  /** For SCIM tokens, where the page counted them: the users and groups it created. */
  provisioned?: { users: number; groups: number };
}

export const TOKEN_PREFIX = 'rst_';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function toToken(row: ApiTokenRow & { username: string }): ApiToken {
  return {
    id: row.id,
    identifier: row.identifier,
    description: row.description,
    owner: row.username,
    ownerId: row.user_id,
    expires: toDate(row.expires),
    revoked: toDate(row.revoked),
    created: toDate(row.created)!,
    lastUsed: toDate(row.last_used),
    purpose: purposeOf(row),
    path: row.path ?? null,
  };
}

function purposeOf(row: Pick<ApiTokenRow, 'purpose'>): TokenPurpose {
  return row.purpose === 'scim' ? 'scim' : 'api';
}

export async function listTokens(db: Db): Promise<ApiToken[]> {
  const rows = await db('api_tokens')
    .join('users', 'users.id', 'api_tokens.user_id')
    .orderBy('api_tokens.identifier')
    .limit(1000)
    .select('api_tokens.*', 'users.username');
  return rows.map(toToken);
}

/**
 * The tokens page: every token, and for SCIM tokens how many users and groups each created. One
 * grouped statement counts them all, on the `provisioned_by` indexes.
 */
export async function listTokensWithCounts(db: Db): Promise<ApiToken[]> {
  const tokens = await listTokens(db);
  const ids = tokens.filter((t) => t.purpose === 'scim').map((t) => t.id);
  if (!ids.length) return tokens;
  const count = (table: 'users' | 'groups') =>
    db(table)
      .whereIn('provisioned_by', ids)
      .groupBy('provisioned_by')
      .select('provisioned_by as token', db.raw('? as kind', [table]))
      .count({ n: '*' })
      .toSQL();
  // Written out, as Knex would put the union before the first part's GROUP BY.
  const [users, groups] = [count('users'), count('groups')];
  const result = await db.raw(`${users.sql} union all ${groups.sql}`, [...users.bindings, ...groups.bindings]);
  const rows: { token: number; kind: string; n: number | string }[] = isSqlite(db) ? result : result[0];
  const counts = new Map(ids.map((id) => [id, { users: 0, groups: 0 }]));
  for (const row of rows) counts.get(Number(row.token))![row.kind === 'users' ? 'users' : 'groups'] = Number(row.n);
  return tokens.map((t) => (counts.has(t.id) ? { ...t, provisioned: counts.get(t.id) } : t));
}

/** The token that provisioned a user or group, for its page; identifier null: deleted since. */
export async function provisioner(db: Db, tokenId: number | null): Promise<{ id: number; identifier: string | null } | null> {
  if (tokenId === null) return null;
  const row = await db('api_tokens').where({ id: tokenId }).first('identifier');
  return { id: tokenId, identifier: row?.identifier ?? null };
}

export type CreateResult = { ok: true; token: ApiToken; key: string } | { ok: false; field: 'identifier'; message: string };

/** A new token; its key is returned once and only its hash is kept. */
export async function createToken(
  db: Db,
  fields: { identifier: string; description: string; ownerId: number; expires: Date | null; purpose?: TokenPurpose; path?: string | null },
  actor: Actor,
): Promise<CreateResult> {
  const key = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  try {
    return await db.transaction(async (trx) => {
      const [id] = await trx('api_tokens').insert({
        identifier: fields.identifier,
        description: fields.description,
        user_id: fields.ownerId,
        key_hash: hashKey(key),
        expires: fields.expires,
        created: new Date(),
        purpose: fields.purpose ?? 'api',
        path: fields.purpose === 'scim' ? (fields.path ?? null) : null,
      });
      const row = await trx('api_tokens')
        .join('users', 'users.id', 'api_tokens.user_id')
        .where('api_tokens.id', Number(id))
        .first('api_tokens.*', 'users.username');
      await recordEvent(
        trx,
        actorEvent('model_created', actor, 'roster.api', { model: modelRef({ id: Number(id), identifier: fields.identifier }) }),
      );
      return { ok: true as const, token: toToken(row!), key };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return { ok: false, field: 'identifier', message: 'Another token has this identifier' };
    throw err;
  }
}

function modelRef(token: { id: number; identifier: string }) {
  return { model_name: 'token', pk: token.id, name: token.identifier };
}

/**
 * Revokes tokens: programs using them are refused from now on. Returns (and records) the tokens this
 * call revoked, not those revoked already or by another request first (their rows are locked).
 */
export async function revokeTokens(db: Db, ids: number[], actor: Actor): Promise<{ id: number; identifier: string }[]> {
  return db.transaction(async (trx) => {
    const tokens: { id: number; identifier: string }[] = await trx('api_tokens')
      .whereIn('id', ids)
      .whereNull('revoked')
      .forUpdate()
      .select('id', 'identifier');
    if (!tokens.length) return [];
    await trx('api_tokens')
      .whereIn(
        'id',
        tokens.map((t) => t.id),
      )
      .update({ revoked: new Date() });
    await recordEvents(
      trx,
      tokens.map((token) => actorEvent('model_updated', actor, 'roster.api', { model: modelRef(token), changed: ['revoked'] })),
    );
    return tokens;
  });
}

/** Deletes tokens; returns (and records) those this call deleted. */
export async function deleteTokens(db: Db, ids: number[], actor: Actor): Promise<{ id: number; identifier: string }[]> {
  return db.transaction(async (trx) => {
    const tokens: { id: number; identifier: string }[] = await trx('api_tokens').whereIn('id', ids).forUpdate().select('id', 'identifier');
    if (!tokens.length) return [];
    await trx('api_tokens')
      .whereIn(
        'id',
        tokens.map((t) => t.id),
      )
      .delete();
    await recordEvents(
      trx,
      tokens.map((token) => actorEvent('model_deleted', actor, 'roster.api', { model: modelRef(token) })),
    );
    return tokens;
  });
}

export type Verdict =
  | { ok: true; userId: number; tokenId: number; identifier: string; purpose: TokenPurpose; path: string | null }
  | { ok: false; reason: string };

/**
 * The owner of a valid key, and what the key is for: each caller refuses a purpose it does not
 * serve (a SCIM token is no administrator's token). Unknown, revoked and expired keys are refused
 * (and the refusal recorded).
 */
export async function checkKey(db: Db, key: string, clientIp: string | undefined): Promise<Verdict> {
  const row = await db('api_tokens')
    .where({ key_hash: hashKey(key) })
    .first();
  const now = new Date();
  const reason = !row
    ? 'unknown token'
    : row.revoked
      ? 'token revoked'
      : row.expires && toDate(row.expires)! <= now
        ? 'token expired'
        : undefined;
  if (reason || !row) {
    const owner = row ? await db('users').where({ id: row.user_id }).first('id', 'username', 'email') : null;
    await recordEvent(db, {
      action: 'suspicious_request',
      user: owner,
      app: 'roster.api',
      clientIp,
      context: { reason, token: row?.identifier },
    });
    return { ok: false, reason: reason! };
  }
  const lastUsed = toDate(row.last_used);
  if (!lastUsed || now.getTime() - lastUsed.getTime() > 60_000) await db('api_tokens').where({ id: row.id }).update({ last_used: now });
  return { ok: true, userId: row.user_id, tokenId: row.id, identifier: row.identifier, purpose: purposeOf(row), path: row.path ?? null };
}
