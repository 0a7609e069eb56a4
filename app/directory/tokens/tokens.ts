import { createHash, randomBytes } from 'node:crypto';
import type { ApiTokenRow, Db } from '../../db.js';
import { isUniqueViolation, toDate } from '../../db.js';
import type { Actor } from '../../events/events.js';
import { actorEvent, recordEvent, recordEvents } from '../../events/events.js';

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
  };
}

export async function listTokens(db: Db): Promise<ApiToken[]> {
  const rows = await db('api_tokens')
    .join('users', 'users.id', 'api_tokens.user_id')
    .orderBy('api_tokens.identifier')
    .limit(1000)
    .select('api_tokens.*', 'users.username');
  return rows.map(toToken);
}

export type CreateResult = { ok: true; token: ApiToken; key: string } | { ok: false; field: 'identifier'; message: string };

/** A new token; its key is returned once and only its hash is kept. */
export async function createToken(
  db: Db,
  fields: { identifier: string; description: string; ownerId: number; expires: Date | null },
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

export type Verdict = { ok: true; userId: number; tokenId: number } | { ok: false; reason: string };

/** The owner of a valid key. Unknown, revoked and expired keys are refused (and the refusal recorded). */
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
  return { ok: true, userId: row.user_id, tokenId: row.id };
}
