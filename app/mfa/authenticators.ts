import { createHash, randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import type { AuthenticatorRow, Db } from '../db.js';
import { toDate } from '../db.js';
import { type Actor, actorEvent, recordEvent } from '../events/events.js';

export type AuthenticatorType = 'totp' | 'static' | 'webauthn';
export const TYPE_NAMES: Record<AuthenticatorType, string> = {
  totp: 'TOTP app',
  static: 'Recovery codes',
  webauthn: 'Security key / passkey',
};

export interface Authenticator {
  id: number;
  userId: number;
  type: AuthenticatorType;
  name: string;
  confirmed: boolean;
  created: Date;
  lastUsed: Date | null;
}

export interface WebauthnCredential {
  id: string;
  publicKey: string;
  counter: number;
  transports?: string[];
}

function toAuthenticator(row: AuthenticatorRow): Authenticator {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type as AuthenticatorType,
    name: row.name,
    confirmed: Boolean(row.confirmed),
    created: toDate(row.created)!,
    lastUsed: toDate(row.last_used),
  };
}

export async function listAuthenticators(db: Db, userId: number): Promise<Authenticator[]> {
  return (await db('authenticators').where({ user_id: userId }).orderBy('created')).map(toAuthenticator);
}

/** Whether login must ask this user for a second factor. */
export async function hasSecondFactor(db: Db, userId: number): Promise<boolean> {
  return Boolean(await db('authenticators').where({ user_id: userId, confirmed: true }).first('id'));
}

export async function confirmedTypes(db: Db, userId: number): Promise<Set<AuthenticatorType>> {
  const rows = await db('authenticators').where({ user_id: userId, confirmed: true }).distinct('type');
  return new Set(rows.map((r) => r.type as AuthenticatorType));
}

// ---- TOTP ----------------------------------------------------------------------------------

const PERIOD = 30;

function totpFor(secret: string, label: string) {
  return new OTPAuth.TOTP({
    issuer: 'Roster',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD,
    secret: OTPAuth.Secret.fromBase32(secret),
  });
}

/** An unconfirmed TOTP device: it counts once a first code proves the app has the secret. */
export async function startTotp(db: Db, userId: number, username: string): Promise<{ id: number; secret: string; uri: string }> {
  const secret = new OTPAuth.Secret({ size: 20 }).base32;
  await db('authenticators').where({ user_id: userId, type: 'totp', confirmed: false }).delete();
  const [id] = await db('authenticators').insert({
    user_id: userId,
    type: 'totp',
    name: 'Authenticator app',
    confirmed: false,
    data: JSON.stringify({ secret, lastStep: 0 }),
    created: new Date(),
  });
  return { id: Number(id), secret, uri: totpFor(secret, username).toString() };
}

export async function pendingTotp(db: Db, userId: number, id: number, username: string) {
  const row = await db('authenticators').where({ id, user_id: userId, type: 'totp', confirmed: false }).first();
  if (!row) return undefined;
  const { secret } = JSON.parse(row.data);
  return { id: row.id, secret: secret as string, uri: totpFor(secret, username).toString() };
}

/**
 * Checks a code against the user's TOTP devices (confirmed ones, or the one being confirmed).
 * A code's time step is used once: a replayed code is refused. Returns the device's id.
 */
export async function checkTotp(
  db: Db,
  userId: number,
  code: string,
  options: { confirmingId?: number } = {},
): Promise<number | undefined> {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const query = db('authenticators').where({ user_id: userId, type: 'totp' });
  if (options.confirmingId) query.where({ id: options.confirmingId, confirmed: false });
  else query.where({ confirmed: true });
  for (const row of await query) {
    const data = JSON.parse(row.data) as { secret: string; lastStep: number };
    const delta = totpFor(data.secret, '').validate({ token, window: 1 });
    if (delta === null) continue;
    const step = Math.floor(Date.now() / 1000 / PERIOD) + delta;
    if (step <= data.lastStep) continue;
    const claimed = await db('authenticators')
      .where({ id: row.id, data: row.data })
      .update({
        data: JSON.stringify({ ...data, lastStep: step }),
        last_used: new Date(),
        ...(options.confirmingId ? { confirmed: true } : {}),
      });
    if (claimed === 1) return row.id;
  }
  return undefined;
}

// ---- Recovery codes -----------------------------------------------------------------------

const CODE_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

function newCode(): string {
  const bytes = randomBytes(16);
  const chars = [...bytes].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

export function hashCode(code: string): string {
  return createHash('sha256')
    .update(code.toLowerCase().replace(/[^a-z0-9]/g, ''))
    .digest('hex');
}

/** Ten new single-use codes (about 78 bits each), replacing older ones; only their hashes are kept. */
export async function createRecoveryCodes(db: Db, userId: number): Promise<string[]> {
  const codes = Array.from({ length: 10 }, newCode);
  await db.transaction(async (trx) => {
    // The user's row first, so that two requests take turns: each would otherwise lock the index
    // range of the other's delete and insert, and MariaDB answers one of them with a deadlock.
    await trx('users').where({ id: userId }).forUpdate().first('id');
    await trx('authenticators').where({ user_id: userId, type: 'static' }).delete();
    const [id] = await trx('authenticators').insert({
      user_id: userId,
      type: 'static',
      name: 'Recovery codes',
      confirmed: true,
      data: '{}',
      created: new Date(),
    });
    await trx('recovery_codes').insert(codes.map((code) => ({ authenticator_id: Number(id), code_hash: hashCode(code) })));
  });
  return codes;
}

export async function remainingCodes(db: Db, userId: number): Promise<number> {
  const row = await db('recovery_codes')
    .join('authenticators', 'authenticators.id', 'recovery_codes.authenticator_id')
    .where('authenticators.user_id', userId)
    .whereNull('recovery_codes.used_at')
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

/** Uses a recovery code once. */
export async function useRecoveryCode(db: Db, userId: number, code: string): Promise<number | undefined> {
  const row = await db('recovery_codes')
    .join('authenticators', 'authenticators.id', 'recovery_codes.authenticator_id')
    .where('authenticators.user_id', userId)
    .where('recovery_codes.code_hash', hashCode(code))
    .whereNull('recovery_codes.used_at')
    .first('recovery_codes.id', 'authenticators.id as authenticatorId');
  if (!row) return undefined;
  const used = await db('recovery_codes').where({ id: row.id }).whereNull('used_at').update({ used_at: new Date() });
  if (used !== 1) return undefined;
  await db('authenticators').where({ id: row.authenticatorId }).update({ last_used: new Date() });
  return row.authenticatorId;
}

// ---- WebAuthn -----------------------------------------------------------------------------

export async function webauthnCredentials(db: Db, userId: number): Promise<(WebauthnCredential & { authenticatorId: number })[]> {
  const rows = await db('authenticators').where({ user_id: userId, type: 'webauthn', confirmed: true });
  return rows.map((r) => ({ ...(JSON.parse(r.data) as WebauthnCredential), authenticatorId: r.id }));
}

export async function saveWebauthn(db: Db, userId: number, name: string, credential: WebauthnCredential): Promise<number> {
  const [id] = await db('authenticators').insert({
    user_id: userId,
    type: 'webauthn',
    name,
    confirmed: true,
    data: JSON.stringify(credential),
    created: new Date(),
  });
  return Number(id);
}

export async function touchWebauthn(db: Db, authenticatorId: number, credential: WebauthnCredential): Promise<void> {
  await db('authenticators')
    .where({ id: authenticatorId })
    .update({ data: JSON.stringify(credential), last_used: new Date() });
}

// ---- Managing devices ---------------------------------------------------------------------

export async function renameAuthenticator(db: Db, userId: number, id: number, name: string): Promise<boolean> {
  return (await db('authenticators').where({ id, user_id: userId }).update({ name })) === 1;
}

/**
 * Removes devices of the user (their recovery codes go with them); login then asks only for what
 * remains. Returns the devices this call removed (rows locked first: a double submit's second
 * request finds none) and records them in one event. `app`: where it was done, the user's own
 * account page or the directory.
 */
export async function deleteAuthenticators(
  db: Db,
  user: { id: number; username: string },
  ids: number[],
  actor: Actor,
  app: 'roster.me' | 'roster.directory' = 'roster.directory',
): Promise<{ id: number; name: string }[]> {
  return db.transaction(async (trx) => {
    const gone: { id: number; name: string }[] = await trx('authenticators')
      .where({ user_id: user.id })
      .whereIn('id', ids)
      .forUpdate()
      .select('id', 'name');
    if (!gone.length) return [];
    await trx('authenticators')
      .whereIn(
        'id',
        gone.map((a) => a.id),
      )
      .delete();
    const model = { model_name: 'authenticator', ...(gone.length === 1 ? { pk: gone[0].id, name: gone[0].name } : {}) };
    await recordEvent(trx, actorEvent('model_deleted', actor, app, { model, user: user.username, devices: gone.map((a) => a.name) }));
    return gone;
  });
}
