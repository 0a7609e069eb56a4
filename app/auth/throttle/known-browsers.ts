import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Db } from '../../db.js';
import { LIMITS } from './rules.js';

export const BROWSER_COOKIE = 'roster.browser';

/**
 * The cookie that tells a browser that logged in before from any other client: a random id and
 * its HMAC, so that a made-up cookie is refused without asking the database. The database keeps
 * only a hash of the id, per user, so a copy of the table lets nobody pass as a known browser.
 * One id per browser: a browser shared by two users is known to both.
 */
export class BrowserCookie {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly secure: boolean,
  ) {
    this.key = createHmac('sha256', secret).update('roster known browser').digest();
  }

  private sign(id: string): string {
    return createHmac('sha256', this.key).update(id).digest('base64url');
  }

  /** The browser's id from its cookie, when this server signed it. */
  private idOf(req: Request): string | undefined {
    const value = cookieValue(req, BROWSER_COOKIE);
    const dot = value?.indexOf('.') ?? -1;
    if (!value || dot < 1) return undefined;
    const id = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.sign(id));
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
  }

  /** What the database knows the browser by (a hash of its id), or undefined without a valid cookie. */
  hashOf(req: Request): string | undefined {
    const id = this.idOf(req);
    return id && hashId(id);
  }

  /** Gives the browser its cookie (again, to renew it) and returns the hash of its id. */
  issue(req: Request, res: Response): string {
    const id = this.idOf(req) ?? randomBytes(18).toString('base64url');
    res.cookie(BROWSER_COOKIE, `${id}.${this.sign(id)}`, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure,
      maxAge: LIMITS.knownBrowserMs,
      path: '/',
    });
    return hashId(id);
  }
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.get('Cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether the user logged in from this browser within LIMITS.knownBrowserMs. */
export async function isKnownBrowser(db: Db, userId: number, browserHash: string, now = new Date()): Promise<boolean> {
  const row = await db('known_browsers')
    .where({ user_id: userId, browser_hash: browserHash })
    .where('last_used', '>', new Date(now.getTime() - LIMITS.knownBrowserMs))
    .first('id');
  return Boolean(row);
}

/**
 * Remembers (or renews) the browser for the user; forgets up to 100 browsers, of anyone, that
 * have not been used for LIMITS.knownBrowserMs, so the table keeps to what is current.
 */
export async function rememberBrowser(db: Db, userId: number, browserHash: string, now = new Date()): Promise<void> {
  await db('known_browsers')
    .insert({ user_id: userId, browser_hash: browserHash, created: now, last_used: now })
    .onConflict(['user_id', 'browser_hash'])
    .merge(['last_used']);
  const stale = await db('known_browsers')
    .where('last_used', '<', new Date(now.getTime() - LIMITS.knownBrowserMs))
    .limit(100)
    .pluck('id');
  if (stale.length) await db('known_browsers').whereIn('id', stale).delete();
}
