import type { Knex } from 'knex';
import type { Db } from '../db.js';
import { deleteSelected, toDate } from '../db.js';
import { type Actor, actorEvent, recordEvent } from '../events/events.js';

export const CONSENT_DAYS = 30;

export interface Consent {
  id: number;
  application: string;
  scopes: string[];
  created: Date;
  expires: Date;
}

export interface RefreshTokenInfo {
  id: string;
  application: string;
  scopes: string[];
  issued: Date;
  expires: Date | null;
  revoked: boolean;
}

/** Adds the OIDC scopes to an oidc-provider Grant. */
export function grantScopes(grant: { addOIDCScope(scope: string): void }, scopes: string[]): void {
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
}

/** The grant of a remembered, unexpired consent of this user for this application. */
export async function consentGrantFor(db: Knex, sub: string, applicationId: number): Promise<string | undefined> {
  const row = await db('consents')
    .join('users', 'users.id', 'consents.user_id')
    .where('users.uuid', sub)
    .where('consents.application_id', applicationId)
    .where('consents.expires', '>', new Date())
    .first('consents.grant_id');
  return row?.grant_id;
}

/** Remembers a consent (replacing an older one of the same user and application). */
export async function rememberConsent(db: Db, userId: number, applicationId: number, grantId: string, scopes: string[]): Promise<void> {
  const now = new Date();
  const row = { grant_id: grantId, scopes: scopes.join(' '), created: now, expires: new Date(now.getTime() + CONSENT_DAYS * 86_400_000) };
  await db('consents')
    .insert({ user_id: userId, application_id: applicationId, ...row } as never)
    .onConflict(['user_id', 'application_id'])
    .merge(Object.keys(row) as never);
}

export async function listConsents(db: Db, userId: number): Promise<Consent[]> {
  const rows = await db('consents')
    .join('applications', 'applications.id', 'consents.application_id')
    .where('consents.user_id', userId)
    .orderBy('applications.name')
    .select('consents.id', 'applications.name', 'consents.scopes', 'consents.created', 'consents.expires');
  return rows.map((r) => ({
    id: r.id,
    application: r.name,
    scopes: r.scopes.split(' ').filter(Boolean),
    created: toDate(r.created)!,
    expires: toDate(r.expires)!,
  }));
}

/**
 * Forgets consents: their grants go too, so the application asks again next time. Returns the
 * consents this call deleted (their rows locked first: another request deleting the same ones
 * waits, then finds nothing), and records them in one event.
 */
export async function deleteConsents(
  db: Db,
  user: { id: number; username: string },
  ids: number[],
  actor: Actor,
): Promise<{ id: number; application: string }[]> {
  return db.transaction(async (trx) => {
    const rows: { id: number; grant_id: string; application_id: number }[] = await trx('consents')
      .where({ user_id: user.id })
      .whereIn('id', ids)
      .forUpdate()
      .select('id', 'grant_id', 'application_id');
    if (!rows.length) return [];
    await trx('oauth_artifacts')
      .where({ kind: 'Grant' })
      .whereIn(
        'id',
        rows.map((r) => r.grant_id),
      )
      .delete();
    await trx('consents')
      .whereIn(
        'id',
        rows.map((r) => r.id),
      )
      .delete();
    const names = new Map(
      (
        await trx('applications')
          .whereIn(
            'id',
            rows.map((r) => r.application_id),
          )
          .select('id', 'name')
      ).map((a) => [a.id, a.name as string]),
    );
    const gone = rows.map((r) => ({ id: r.id, application: names.get(r.application_id)! }));
    await recordEvent(
      trx,
      actorEvent('model_deleted', actor, 'roster.oauth', {
        model: { model_name: 'consent' },
        user: user.username,
        applications: gone.map((c) => c.application),
      }),
    );
    return gone;
  });
}

export async function listRefreshTokens(db: Db, userId: number): Promise<RefreshTokenInfo[]> {
  const rows = await db('oauth_artifacts')
    .leftJoin('applications', 'applications.id', 'oauth_artifacts.application_id')
    .where('oauth_artifacts.user_id', userId)
    .where('oauth_artifacts.kind', 'RefreshToken')
    .orderBy('oauth_artifacts.created', 'desc')
    .select(
      'oauth_artifacts.id',
      'oauth_artifacts.payload',
      'oauth_artifacts.created',
      'oauth_artifacts.expires',
      'oauth_artifacts.consumed',
      'applications.name',
    );
  return rows.map((r) => {
    const payload = JSON.parse(r.payload) as { scope?: string };
    return {
      id: r.id,
      application: r.name ?? 'Deleted application',
      scopes: (payload.scope ?? '').split(' ').filter(Boolean),
      issued: toDate(r.created)!,
      expires: toDate(r.expires),
      revoked: Boolean(r.consumed),
    };
  });
}

/**
 * Deleted refresh tokens are refused at the token endpoint (invalid_grant). Returns the ids this
 * call deleted, and records them in one event.
 */
export async function deleteRefreshTokens(db: Db, user: { id: number; username: string }, ids: string[], actor: Actor): Promise<string[]> {
  return db.transaction(async (trx) => {
    const deleted = await deleteSelected<string>(
      trx('oauth_artifacts').where({ user_id: user.id, kind: 'RefreshToken' }).whereIn('id', ids),
      'id',
    );
    if (deleted.length) {
      await recordEvent(
        trx,
        actorEvent('model_deleted', actor, 'roster.oauth', {
          model: { model_name: 'refresh_token' },
          user: user.username,
          count: deleted.length,
        }),
      );
    }
    return deleted;
  });
}

/** Every token of these users stops working: for deactivation. */
export async function revokeUserTokens(db: Db, userIds: number[]): Promise<void> {
  await db('oauth_artifacts').whereIn('user_id', userIds).whereIn('kind', ['RefreshToken', 'AccessToken', 'AuthorizationCode']).delete();
}
