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
