import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db.js';
import { lockUser } from '../directory/users/users.js';
import { recordEvent } from '../events/events.js';
import { setPassword } from '../identity/identity.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface IssuedToken {
  id: number;
  token: string;
  expires: Date;
}

/** Stores a new single-use token for the user (only its hash) and returns the token itself. */
export async function issueRecoveryToken(db: Db, userId: number, ttlMs: number): Promise<IssuedToken> {
  const token = randomBytes(32).toString('base64url');
  const now = new Date();
  const expires = new Date(now.getTime() + ttlMs);
  const [id] = await db('recovery_tokens').insert({ user_id: userId, token_hash: hashToken(token), expires, created: now });
  return { id: Number(id), token, expires };
}

/**
 * A new link makes the user's older unused links stop working. The user's row is locked first, so
 * that requests for one user take turns: two transactions that each insert a token and delete the
 * others would otherwise lock the same index range in opposite orders (a deadlock on MariaDB).
 */
export async function revokeOtherTokens(db: Db, userId: number, keepId: number): Promise<void> {
  await db.transaction(async (trx) => {
    await lockUser(trx, userId);
    await trx('recovery_tokens').where({ user_id: userId }).whereNull('used_at').whereNot({ id: keepId }).delete();
  });
}

export async function deleteToken(db: Db, id: number): Promise<void> {
  await db('recovery_tokens').where({ id }).delete();
}

/**
 * Issues a token and revokes the older ones at once. Requests for one user take turns (the user's row
 * is locked first): of tokens issued at the same time, the last one issued is the one that works.
 */
export async function createRecoveryToken(db: Db, userId: number, ttlMs: number): Promise<IssuedToken> {
  return db.transaction(async (trx) => {
    await lockUser(trx, userId);
    const issued = await issueRecoveryToken(trx, userId, ttlMs);
    await revokeOtherTokens(trx, userId, issued.id);
    return issued;
  });
}

export interface ValidToken {
  id: number;
  userId: number;
  username: string;
  email: string;
}

/** The token's user when the token is unused, unexpired and its user active. Same work for any input. */
export async function findValidToken(db: Db, token: string): Promise<ValidToken | undefined> {
  const row = await db('recovery_tokens')
    .join('users', 'users.id', 'recovery_tokens.user_id')
    .where('recovery_tokens.token_hash', hashToken(token))
    .whereNull('recovery_tokens.used_at')
    .where('recovery_tokens.expires', '>', new Date())
    .where('users.is_active', true)
    .first('recovery_tokens.id', 'users.id as userId', 'users.username', 'users.email');
  return row as ValidToken | undefined;
}

/** Whether the token is still on file: a newer link for the same user removes the older ones. */
export async function tokenExists(db: Db, token: string): Promise<boolean> {
  return Boolean(
    await db('recovery_tokens')
      .where({ token_hash: hashToken(token) })
      .first('id'),
  );
}

/**
 * Marks the token used and sets the password, ending every session of the user, in one transaction.
 * Returns false when another request used the token first.
 */
export async function redeemToken(db: Db, found: ValidToken, passwordHash: string, clientIp: string | undefined): Promise<boolean> {
  return db.transaction(async (trx) => {
    await lockUser(trx, found.userId); // in turn with a new link being issued, as revokeOtherTokens does
    const now = new Date();
    const claimed = await trx('recovery_tokens').where({ id: found.id }).whereNull('used_at').update({ used_at: now });
    if (claimed !== 1) return false;
    await setPassword(trx, found.userId, passwordHash);
    await recordEvent(trx, {
      action: 'password_set',
      user: { id: found.userId, username: found.username, email: found.email },
      app: 'roster.recovery',
      context: { method: 'recovery_link' },
      clientIp,
    });
    return true;
  });
}
