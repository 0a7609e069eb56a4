import { createHash, randomBytes } from 'node:crypto';
import type { ApplicationRow, Db } from '../db.js';
import { deleteSelected, isUniqueViolation, toDate } from '../db.js';
import type { Actor } from '../events/events.js';
import { actorEvent, recordEvent, recordEvents } from '../events/events.js';

export const CONSENT_MODES = {
  explicit: 'Ask once, then remember',
  implicit: 'Never ask (trusted first-party application)',
  always: 'Ask every time',
} as const;
export type ConsentMode = keyof typeof CONSENT_MODES;

export interface Application {
  id: number;
  name: string;
  slug: string;
  clientId: string;
  redirectUris: string[];
  consentMode: ConsentMode;
  created: Date;
  lastUpdated: Date;
}

export interface ApplicationFields {
  name: string;
  slug: string;
  redirectUris: string[];
  consentMode: ConsentMode;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function toApplication(row: ApplicationRow): Application {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    clientId: row.client_id,
    redirectUris: JSON.parse(row.redirect_uris),
    consentMode: row.consent_mode as ConsentMode,
    created: toDate(row.created)!,
    lastUpdated: toDate(row.last_updated)!,
  };
}

export async function listApplications(db: Db): Promise<Application[]> {
  return (await db('applications').orderBy('name').limit(1000)).map(toApplication);
}

export async function findApplication(db: Db, id: number): Promise<Application | undefined> {
  const row = await db('applications').where({ id }).first();
  return row && toApplication(row);
}

export async function findApplicationByClientId(db: Db, clientId: string): Promise<Application | undefined> {
  const row = await db('applications').where({ client_id: clientId }).first();
  return row && toApplication(row);
}

/**
 * The client as oidc-provider sees it. `client_secret` holds the secret's SHA-256; the provider's
 * secret comparison is replaced to hash what the client sends (see provider.ts), and no HMAC
 * algorithm is enabled that would need the secret itself.
 */
export async function findClientMetadata(db: Db, clientId: string) {
  const row = await db('applications').where({ client_id: clientId }).first();
  if (!row) return undefined;
  return {
    client_id: row.client_id,
    client_secret: row.client_secret_hash,
    client_name: row.name,
    redirect_uris: JSON.parse(row.redirect_uris),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  };
}

type SaveResult = { ok: true; application: Application; secret?: string } | { ok: false; field: 'slug'; message: string };
const SLUG_TAKEN = { ok: false, field: 'slug', message: 'Another application has this slug' } as const;

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

function ref(app: { id: number; name: string }) {
  return { app: 'roster.applications', model_name: 'application', pk: app.id, name: app.name };
}

export async function createApplication(db: Db, fields: ApplicationFields, actor: Actor): Promise<SaveResult> {
  const secret = newSecret();
  const now = new Date();
  try {
    return await db.transaction(async (trx) => {
      const [id] = await trx('applications').insert({
        name: fields.name,
        slug: fields.slug,
        client_id: randomBytes(15).toString('base64url'),
        client_secret_hash: hashSecret(secret),
        redirect_uris: JSON.stringify(fields.redirectUris),
        consent_mode: fields.consentMode,
        created: now,
        last_updated: now,
      });
      const application = (await findApplication(trx, Number(id)))!;
      await recordEvent(trx, actorEvent('model_created', actor, 'roster.applications', { model: ref(application) }));
      return { ok: true as const, application, secret };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return SLUG_TAKEN;
    throw err;
  }
}

export async function updateApplication(db: Db, before: Application, fields: ApplicationFields, actor: Actor): Promise<SaveResult> {
  try {
    return await db.transaction(async (trx) => {
      await trx('applications')
        .where({ id: before.id })
        .update({
          name: fields.name,
          slug: fields.slug,
          redirect_uris: JSON.stringify(fields.redirectUris),
          consent_mode: fields.consentMode,
          last_updated: new Date(),
        });
      const application = (await findApplication(trx, before.id))!;
      await recordEvent(trx, actorEvent('model_updated', actor, 'roster.applications', { model: ref(application) }));
      return { ok: true as const, application };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return SLUG_TAKEN;
    throw err;
  }
}

/** A new client secret, returned once; the old one stops working at once. */
export async function rotateSecret(db: Db, application: Application, actor: Actor): Promise<string> {
  const secret = newSecret();
  await db.transaction(async (trx) => {
    await trx('applications')
      .where({ id: application.id })
      .update({ client_secret_hash: hashSecret(secret), last_updated: new Date() });
    await recordEvent(
      trx,
      actorEvent('model_updated', actor, 'roster.applications', { model: ref(application), changed: ['client_secret'] }),
    );
  });
  return secret;
}

/** Deletes applications; their consents and tokens go with them (foreign keys cascade). */
export async function deleteApplications<A extends { id: number; name: string }>(db: Db, applications: A[], actor: Actor): Promise<A[]> {
  return db.transaction(async (trx) => {
    const ids = new Set(
      await deleteSelected<number>(
        trx('applications').whereIn(
          'id',
          applications.map((a) => a.id),
        ),
        'id',
      ),
    );
    const gone = applications.filter((a) => ids.has(a.id));
    await recordEvents(
      trx,
      gone.map((application) => actorEvent('model_deleted', actor, 'roster.applications', { model: ref(application) })),
    );
    return gone;
  });
}
