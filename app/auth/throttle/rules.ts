import { createHash } from 'node:crypto';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The brute-force protection's thresholds, all in one place (README, "Brute-force protection",
 * explains why each is what it is). A counter counts failures in a fixed window that starts at its
 * first failure; only failures count, never refused attempts, so waiting always ends a block.
 */
export const LIMITS = {
  /** Failed logins from one client address, whatever the accounts: then the address waits. */
  address: { failures: 50, windowMs: 15 * MINUTE, blockMs: 15 * MINUTE },
  /**
   * Failed logins to one account from one client (its address, or a browser known to the
   * account), and wrong second-factor codes likewise: from the 5th on, the client waits 1 minute,
   * then 2, 4, … up to an hour, until a day has passed since its first failure or it succeeds.
   */
  client: { failures: 5, windowMs: DAY, firstBlockMs: MINUTE, maxBlockMs: HOUR },
  /**
   * Failed logins to one account from every client together: at 20 within an hour, coming from at
   * least 3 addresses, the account is locked for 30 minutes (users.locked_until) for clients that
   * bring neither a known browser nor a second factor.
   */
  account: { failures: 20, addresses: 3, windowMs: HOUR, lockMs: 30 * MINUTE },
  /**
   * Wrong second-factor codes for one user from every client without a known browser together:
   * someone who has the password cannot spread guesses over many addresses. Only a client that
   * knew the password gets here, so this holds back no one who merely guessed at the login.
   */
  secondFactor: { failures: 20, windowMs: HOUR, blockMs: 30 * MINUTE },
  /** Unknown, used or expired recovery links opened from one address. */
  recovery: { failures: 20, windowMs: 15 * MINUTE, blockMs: 15 * MINUTE },
  /** A browser stays known this long after its last login. */
  knownBrowserMs: 180 * DAY,
  /** Refused attempts are recorded as events at most this often per counter (no flood). */
  noteEveryMs: MINUTE,
} as const;

/**
 * What a counter counts. `browser` is a client known by its cookie, `client` one known by its
 * address; `mfa` is one client's wrong codes for a user, `mfa_user` every client's.
 */
export type Kind = 'address' | 'client' | 'browser' | 'account' | 'mfa' | 'mfa_user' | 'recovery';

/**
 * A counter's name: a SHA-256 of its kind and what it counts (as a JSON list, so that no two lists
 * read the same), so that no address or username is stored and every name has one length.
 */
export function bucketKey(kind: Kind, ...parts: (string | number)[]): string {
  return createHash('sha256')
    .update(JSON.stringify([kind, ...parts]))
    .digest('hex');
}

/** The name of an account's own counter, also what every counter about the account carries. */
export function accountKey(username: string): string {
  return bucketKey('account', username.normalize('NFC'));
}

export function windowMs(kind: Kind): number {
  if (kind === 'address') return LIMITS.address.windowMs;
  if (kind === 'recovery') return LIMITS.recovery.windowMs;
  if (kind === 'account') return LIMITS.account.windowMs;
  if (kind === 'mfa_user') return LIMITS.secondFactor.windowMs;
  return LIMITS.client.windowMs;
}

/**
 * How long a counter that has just reached `failures` in its window blocks its client, in
 * milliseconds; 0 when it does not. Accounts are not blocked here: they are locked (lockFor).
 */
export function blockMs(kind: Kind, failures: number): number {
  if (kind === 'address') return failures >= LIMITS.address.failures ? LIMITS.address.blockMs : 0;
  if (kind === 'recovery') return failures >= LIMITS.recovery.failures ? LIMITS.recovery.blockMs : 0;
  if (kind === 'mfa_user') return failures >= LIMITS.secondFactor.failures ? LIMITS.secondFactor.blockMs : 0;
  if (kind === 'account') return 0;
  const { failures: limit, firstBlockMs, maxBlockMs } = LIMITS.client;
  if (failures < limit) return 0;
  // 2 ** 30 minutes is far past the cap: stop doubling before the number means nothing.
  return Math.min(firstBlockMs * 2 ** Math.min(failures - limit, 30), maxBlockMs);
}

/** Whether an account's failures, from this many addresses, lock it. */
export function locksAccount(failures: number, addresses: number): boolean {
  return failures >= LIMITS.account.failures && addresses >= LIMITS.account.addresses;
}

/** The reason an admin reads on the user's page: "20 failed logins from 7 addresses". */
export function lockReason(failures: number, addresses: number): string {
  return `${failures} failed logins from ${addresses} addresses`;
}

/** Whole seconds until `until`, at least 1: the Retry-After header and the minutes in the message. */
export function secondsUntil(until: Date, now = new Date()): number {
  return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}

/** "1 minute", "15 minutes": how long to wait, rounded up to whole minutes. */
export function waitText(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}
