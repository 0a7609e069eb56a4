import type { Knex } from 'knex';
import { formatDateTime } from '../../http/view-helpers.js';

/**
 * A user's status, as the list, the detail page and the status filter show it. Deactivated comes
 * first (an admin's decision), then Expired (its end of validity has passed), then Locked (the
 * brute-force protection's lock has not yet run out); otherwise Active.
 */
export type UserStatus = 'active' | 'deactivated' | 'locked' | 'expired';

export const STATUSES: readonly UserStatus[] = ['active', 'deactivated', 'locked', 'expired'];

export const STATUS_LABELS: Record<UserStatus, string> = {
  active: 'Active',
  deactivated: 'Deactivated',
  locked: 'Locked',
  expired: 'Expired',
};

export interface StatusFields {
  isActive: boolean;
  validUntil: Date | null;
  lockedUntil: Date | null;
}

export function statusOf(user: StatusFields, now = new Date()): UserStatus {
  if (!user.isActive) return 'deactivated';
  if (user.validUntil && user.validUntil <= now) return 'expired';
  if (user.lockedUntil && user.lockedUntil > now) return 'locked';
  return 'active';
}

/** The status in words, with until when a lock runs and since when an account is expired. */
export function statusText(user: { status: UserStatus; validUntil: Date | null; lockedUntil: Date | null }): string {
  if (user.status === 'locked') return `Locked until ${formatDateTime(user.lockedUntil)}`;
  if (user.status === 'expired') return `Expired since ${formatDateTime(user.validUntil)}`;
  return STATUS_LABELS[user.status];
}

/** What every view may use to show a user's status. */
export const statusHelpers = { statusOf, statusText, STATUSES, STATUS_LABELS };

/**
 * statusOf in SQL, with the same precedence, for the rows of `table` (a table or alias of users).
 * `now` is a bound parameter rather than the database's clock: SQLite and MariaDB tell the time
 * differently, and the page, its count and its rows must agree on one moment.
 */
export function whereStatus(qb: Knex.QueryBuilder, status: UserStatus, now: Date, table = 'users'): void {
  const column = (name: string) => `${table}.${name}`;
  const notExpired = (w: Knex.QueryBuilder) => w.whereNull(column('valid_until')).orWhere(column('valid_until'), '>', now);
  if (status === 'deactivated') {
    qb.where(column('is_active'), false);
    return;
  }
  qb.where(column('is_active'), true);
  if (status === 'expired') qb.where(column('valid_until'), '<=', now);
  else if (status === 'locked') qb.where(column('locked_until'), '>', now).where(notExpired);
  else qb.where(notExpired).where((w) => w.whereNull(column('locked_until')).orWhere(column('locked_until'), '<=', now));
}

/** A `status` URL parameter as a status; anything else (absent, misspelt, repeated) is null. */
export function parseStatus(value: unknown): UserStatus | null {
  return typeof value === 'string' && (STATUSES as readonly string[]).includes(value) ? (value as UserStatus) : null;
}
