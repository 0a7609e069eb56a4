import type { Request, Response } from 'express';
import type { Db } from '../../db.js';
import { toDate } from '../../db.js';
import { recordEvent } from '../../events/events.js';
import { normalName } from '../../identity/names.js';
import { hasSecondFactor } from '../../mfa/authenticators.js';
import { BrowserCookie, isKnownBrowser, rememberBrowser } from './known-browsers.js';
import { type AccountUser, lockAccount } from './lock.js';
import { accountKey, blockMs, bucketKey, LIMITS, lockReason, locksAccount, secondsUntil, waitText } from './rules.js';
import { addFailure, addressesSince, type BucketRef, blockBucket, forgetBuckets, readBuckets, shouldNote, sweep } from './store.js';

export type RefusalReason = 'throttled_address' | 'throttled_account' | 'locked' | 'throttled_mfa' | 'throttled_recovery';

/** Why a client must wait, and until when. The same whatever the password or code: it is decided before either is checked. */
export interface Refusal {
  reason: RefusalReason;
  until: Date;
  /** The counter that refused, which decides whether this refusal is recorded (shouldNote). */
  bucket: string;
}

/** One check of a login, code or link: what a failure adds to, and the refusal, if any. */
export interface Check {
  refs: BucketRef[];
  refusal: Refusal | null;
}

export interface LoginCheck extends Check {
  username: string;
  account: string;
  user: (AccountUser & { lockedUntil: Date | null }) | undefined;
}

const MESSAGES: Record<RefusalReason, string> = {
  throttled_address: 'Too many failed attempts from your network. Try again in {wait}.',
  throttled_account: 'Too many failed attempts to log in to this account from here. Try again in {wait}.',
  locked:
    'This account is locked for {wait} after many failed logins. Log in from a browser you have used before, or ask an administrator to unlock it.',
  throttled_mfa: 'Too many wrong codes. Try again in {wait}.',
  throttled_recovery: 'Too many invalid links were opened from your network. Try again in {wait}.',
};

/** The message for a refusal, and its Retry-After header set on the response. */
export function refusalMessage(res: Response, refusal: Refusal): string {
  const seconds = secondsUntil(refusal.until);
  res.set('Retry-After', String(seconds));
  return MESSAGES[refusal.reason].replace('{wait}', waitText(seconds));
}

function firstBlocked(buckets: Map<string, { blockedUntil: Date | null }>, refs: BucketRef[]) {
  for (const ref of refs) {
    const until = buckets.get(ref.key)?.blockedUntil;
    if (until) return { key: ref.key, until };
  }
  return undefined;
}

/**
 * The brute-force protection (README, "Brute-force protection"): failures counted in the database
 * per address, per account and client, and per account, so that any number of processes share
 * them; made once by the app and handed to the login, second-factor and recovery-link routes.
 */
export class BruteForceGuard {
  private readonly cookie: BrowserCookie;

  constructor(
    private readonly db: Db,
    secret: string,
    secureCookies: boolean,
  ) {
    this.cookie = new BrowserCookie(secret, secureCookies);
  }

  /** The browser's hash when the user logged in from it before; then it is the client, not its address. */
  private async knownBrowser(req: Request, userId: number | undefined): Promise<string | undefined> {
    const hash = this.cookie.hashOf(req);
    return hash && userId !== undefined && (await isKnownBrowser(this.db, userId, hash)) ? hash : undefined;
  }

  /**
   * Before a password is checked. A known browser answers for itself only (its own counter);
   * another client waits when its address has failed too often, when it has failed too often for
   * this account, or while the account is locked and it cannot bring a second factor.
   */
  async login(req: Request, typed: string): Promise<LoginCheck> {
    const now = new Date();
    const username = normalName(typed);
    const account = accountKey(username);
    const row = await this.db('users').where({ username }).first('id', 'username', 'email', 'locked_until');
    const user = row && { id: row.id, username: row.username, email: row.email, lockedUntil: toDate(row.locked_until) };
    const browser = await this.knownBrowser(req, user?.id);
    const accountRef: BucketRef = { key: account, kind: 'account', account };
    const refs: BucketRef[] = browser
      ? [{ key: bucketKey('browser', account, browser), kind: 'browser', account }, accountRef]
      : [
          { key: bucketKey('address', req.ip ?? ''), kind: 'address' },
          { key: bucketKey('client', account, req.ip ?? ''), kind: 'client', account },
          accountRef,
        ];
    const buckets = await readBuckets(
      this.db,
      refs.map((r) => r.key),
      now,
    );
    const check = { refs, username, account, user, refusal: null as Refusal | null };
    const blocked = firstBlocked(buckets, refs.slice(0, -1));
    if (blocked) {
      const reason = refs[0].kind === 'address' && blocked.key === refs[0].key ? 'throttled_address' : 'throttled_account';
      return { ...check, refusal: { reason, until: blocked.until, bucket: blocked.key } };
    }
    const lockedUntil = user ? user.lockedUntil : buckets.get(account)?.blockedUntil;
    if (!browser && lockedUntil && lockedUntil > now && !(user && (await hasSecondFactor(this.db, user.id)))) {
      return { ...check, refusal: { reason: 'locked', until: lockedUntil, bucket: account } };
    }
    return check;
  }

  /** Records a refused login as `login_failed` with its reason: the first one, then at most once a minute per counter. */
  async loginRefused(req: Request, check: LoginCheck): Promise<void> {
    if (!check.refusal || !(await shouldNote(this.db, check.refusal.bucket))) return;
    await recordEvent(this.db, {
      action: 'login_failed',
      user: check.user ?? null,
      app: 'roster.auth',
      clientIp: req.ip,
      context: { username: check.username, reason: check.refusal.reason },
    });
  }

  /** A wrong password (or unknown user, or inactive one): counted; blocks, and the account lock, follow from the counts. */
  async loginFailed(req: Request, check: LoginCheck): Promise<void> {
    const now = new Date();
    const buckets = await this.failed(check.refs, now);
    const failures = buckets.get(check.account)?.failures ?? 0;
    const since = new Date(now.getTime() - LIMITS.account.windowMs);
    const lockedNow = check.user ? check.user.lockedUntil : buckets.get(check.account)?.blockedUntil;
    if (failures < LIMITS.account.failures || (lockedNow && lockedNow > now)) return;
    const addresses = await addressesSince(this.db, check.account, since);
    if (!locksAccount(failures, addresses)) return;
    const until = new Date(now.getTime() + LIMITS.account.lockMs);
    if (!check.user) return blockBucket(this.db, check.account, until);
    await lockAccount(this.db, check.user, { until, reason: lockReason(failures, addresses), failures, addresses }, req.ip, now);
  }

  /** The password was right: this client's counter for the account starts afresh. */
  async loginSucceeded(check: LoginCheck): Promise<void> {
    await forgetBuckets(
      this.db,
      check.refs.filter((r) => r.kind === 'client' || r.kind === 'browser').map((r) => r.key),
    );
  }

  /** Once the user is signed in (every factor checked): the browser is known to them from now on. */
  async signedIn(req: Request, res: Response, userId: number): Promise<void> {
    await rememberBrowser(this.db, userId, this.cookie.issue(req, res));
  }

  /**
   * Before a second-factor code or key is checked: this client's wrong codes for the user and,
   * unless the browser is known to the user, every other such client's too.
   */
  async mfa(req: Request, user: AccountUser): Promise<Check> {
    const account = accountKey(user.username);
    const browser = await this.knownBrowser(req, user.id);
    const refs: BucketRef[] = browser
      ? [{ key: bucketKey('mfa', user.id, 'browser', browser), kind: 'mfa', account }]
      : [
          { key: bucketKey('mfa', user.id, 'address', req.ip ?? ''), kind: 'mfa', account },
          { key: bucketKey('mfa_user', user.id), kind: 'mfa_user', account },
        ];
    return { refs, refusal: await this.refusalOf(refs, 'throttled_mfa') };
  }

  /** Before a recovery link is looked up: the invalid links opened from this address. */
  async recovery(req: Request): Promise<Check> {
    const refs: BucketRef[] = [{ key: bucketKey('recovery', req.ip ?? ''), kind: 'recovery' }];
    return { refs, refusal: await this.refusalOf(refs, 'throttled_recovery') };
  }

  /** Whether a refused code should be recorded (the first, then at most once a minute). */
  shouldRecord(check: Check): Promise<boolean> {
    return check.refusal ? shouldNote(this.db, check.refusal.bucket) : Promise.resolve(true);
  }

  /** A wrong code, or an invalid link: counted, and blocked when the count says so. */
  async failed(refs: BucketRef[], now = new Date()) {
    const buckets = await addFailure(this.db, refs, now);
    for (const bucket of buckets.values()) {
      const ms = blockMs(bucket.kind, bucket.failures);
      if (ms) await blockBucket(this.db, bucket.key, new Date(now.getTime() + ms));
    }
    await sweep(this.db, now);
    return buckets;
  }

  /** A right code: this client's count for the user starts afresh (not every client's: others may still be guessing). */
  async succeeded(check: Check): Promise<void> {
    await forgetBuckets(
      this.db,
      check.refs.filter((r) => r.kind === 'mfa').map((r) => r.key),
    );
  }

  private async refusalOf(refs: BucketRef[], reason: RefusalReason): Promise<Refusal | null> {
    const blocked = firstBlocked(
      await readBuckets(
        this.db,
        refs.map((r) => r.key),
      ),
      refs,
    );
    return blocked ? { reason, until: blocked.until, bucket: blocked.key } : null;
  }
}
