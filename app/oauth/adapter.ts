import type { Knex } from 'knex';
import { toDate } from '../db.js';
import { findClientMetadata } from './applications.js';

type Payload = Record<string, unknown> & { accountId?: string; clientId?: string; grantId?: string; uid?: string; userCode?: string };

const userBySub = (db: Knex, sub: string | undefined) => (sub ? db.raw('(select id from users where uuid = ?)', [sub]) : null);
const applicationByClientId = (db: Knex, clientId: string | undefined) =>
  clientId ? db.raw('(select id from applications where client_id = ?)', [clientId]) : null;

/**
 * oidc-provider's storage in Roster's database: one row per artifact (grant, code, token, session,
 * interaction), with the user, application and grant as indexed columns so that Roster can list
 * and revoke them. Clients come from the applications table.
 */
export function knexAdapter(db: Knex) {
  return class KnexAdapter {
    constructor(private readonly kind: string) {}

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      const now = new Date();
      const row = {
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? (this.kind === 'Grant' ? id : null),
        uid: payload.uid ?? payload.userCode ?? null,
        user_id: userBySub(db, payload.accountId),
        application_id: applicationByClientId(db, payload.clientId),
        expires: expiresIn ? new Date(now.getTime() + expiresIn * 1000) : null,
      };
      await db('oauth_artifacts')
        .insert({ id, kind: this.kind, ...row, created: now } as never)
        .onConflict(['kind', 'id'])
        .merge(Object.keys(row) as never);
    }

    async find(id: string): Promise<Payload | undefined> {
      if (this.kind === 'Client') return findClientMetadata(db, id);
      return this.load(db('oauth_artifacts').where({ kind: this.kind, id }));
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      return this.load(db('oauth_artifacts').where({ kind: this.kind, uid }));
    }

    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      return this.findByUid(userCode);
    }

    async consume(id: string): Promise<void> {
      await db('oauth_artifacts').where({ kind: this.kind, id }).update({ consumed: new Date() });
    }

    async destroy(id: string): Promise<void> {
      await db('oauth_artifacts').where({ kind: this.kind, id }).delete();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db('oauth_artifacts').where({ grant_id: grantId }).whereNot({ kind: 'Grant' }).delete();
    }

    private async load(query: Knex.QueryBuilder): Promise<Payload | undefined> {
      const row = await query.first('payload', 'expires', 'consumed');
      if (!row) return undefined;
      const expires = toDate(row.expires);
      if (expires && expires.getTime() <= Date.now()) return undefined;
      const consumed = toDate(row.consumed);
      return { ...JSON.parse(row.payload), ...(consumed ? { consumed: Math.floor(consumed.getTime() / 1000) } : {}) };
    }
  };
}
