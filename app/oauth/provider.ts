import { createHash, generateKeyPairSync, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config.js';
import { isUniqueViolation, toDate } from '../db.js';
import { mayUse } from '../identity/identity.js';
import { knexAdapter } from './adapter.js';
import { findApplicationByClientId } from './applications.js';
import { consentGrantFor, grantScopes } from './grants.js';

export const OAUTH_PATH = '/oauth';
export const SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const DAY = 86_400;

/**
 * The ES256 signing key, made once and kept in the database so every process signs alike. The
 * first key has a fixed id: processes that start together on an empty table each make one, the
 * table's unique key on the id keeps one of them, and the others read that one.
 */
export async function signingKey(db: Knex) {
  const oldest = () =>
    db('oauth_keys')
      .orderBy([{ column: 'created' }, { column: 'kid' }])
      .first();
  const existing = await oldest();
  if (existing) return JSON.parse(existing.jwk);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'roster-1', alg: 'ES256', use: 'sig' };
  try {
    await db('oauth_keys').insert({ kid: jwk.kid, jwk: JSON.stringify(jwk), created: new Date() });
    return jwk;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return JSON.parse((await oldest())!.jwk);
  }
}

async function findAccount(db: Knex, sub: string) {
  const user = await db('users').where({ uuid: sub }).first('id', 'uuid', 'username', 'name', 'email', 'is_active', 'valid_until');
  // No account for a deactivated or expired user: the token endpoint then refuses their refresh tokens.
  if (!user || !mayUse({ isActive: Boolean(user.is_active), validUntil: toDate(user.valid_until) })) return undefined;
  return {
    accountId: sub,
    async claims() {
      const groups = await db('groups')
        .join('group_memberships', 'group_memberships.group_id', 'groups.id')
        .where('group_memberships.user_id', user.id)
        .orderBy('groups.name')
        .pluck('groups.name');
      return { sub, preferred_username: user.username, name: user.name, email: user.email || undefined, email_verified: false, groups };
    },
  };
}

/** The authorization server (oidc-provider), built on first use; issuer `${PUBLIC_URL}/oauth`. */
export async function createProvider(config: Config, db: Knex, cookieSecret: string): Promise<Provider> {
  // Loaded on first use: the library announces on import that it prefers Node 22, and a start
  // that fails on configuration should say one line only.
  const { default: OidcProvider } = await import('oidc-provider');
  const provider = new OidcProvider(`${config.publicUrl}${OAUTH_PATH}`, {
    adapter: knexAdapter(db) as never,
    jwks: { keys: [await signingKey(db)] },
    cookies: { keys: [cookieSecret], long: { signed: true, sameSite: 'lax' }, short: { signed: true, sameSite: 'lax' } },
    findAccount: (_ctx, sub) => findAccount(db, sub) as never,
    scopes: SCOPES,
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups'], email: ['email', 'email_verified'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: false },
    },
    pkce: { required: () => true },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    enabledJWA: { idTokenSigningAlgValues: ['ES256'], userinfoSigningAlgValues: ['ES256'] } as never,
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 30 * DAY,
      Grant: 365 * DAY,
      Session: 14 * DAY,
      Interaction: 3600,
    },
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    loadExistingGrant: (ctx: KoaContextWithOIDC) => loadExistingGrant(db, ctx),
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      const text = (value: unknown) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.body =
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error · Roster</title>`
        + `<link rel="stylesheet" href="/assets/css/roster.css"></head><body><main class="content-centered"><section class="card auth-card">`
        + `<h1>The application's sign-in request failed</h1><p><code>${text(out.error)}</code></p><p>${text(out.error_description)}</p>`
        + `</section></main></body></html>`;
    },
  });
  provider.proxy = Boolean(config.trustProxy);
  // Client secrets are stored as SHA-256: compare the hash of what the client sends.
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret: string }, actual: string) {
    const given = Buffer.from(createHash('sha256').update(String(actual)).digest('hex'));
    const stored = Buffer.from(this.clientSecret);
    return given.length === stored.length && timingSafeEqual(given, stored);
  };
  return provider;
}

/**
 * Which grant an authorization may reuse, by the application's consent mode: "implicit" never asks,
 * "explicit" reuses a remembered consent until it expires, "always" asks every time.
 */
async function loadExistingGrant(db: Knex, ctx: KoaContextWithOIDC) {
  const { Grant } = ctx.oidc.provider;
  const submitted = ctx.oidc.result?.consent?.grantId as string | undefined;
  if (submitted) return Grant.find(submitted);
  const client = ctx.oidc.client!;
  const accountId = ctx.oidc.session!.accountId!;
  const application = await findApplicationByClientId(db, client.clientId);
  if (!application || application.consentMode === 'always') return undefined;
  if (application.consentMode === 'explicit') {
    const grantId = await consentGrantFor(db, accountId, application.id);
    return grantId ? Grant.find(grantId) : undefined;
  }
  const grant = new Grant({ accountId, clientId: client.clientId });
  grantScopes(grant, [...ctx.oidc.requestParamOIDCScopes]);
  await grant.save();
  return grant;
}
