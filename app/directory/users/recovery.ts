import { type NextFunction, type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import { passwordProblem } from '../../auth/passwords.js';
import type { Config } from '../../config.js';
import { isRegion } from '../../http/htmx.js';
import { finishDialog } from '../../http/render.js';
import { openedFrom, postedFrom } from '../../http/return-to.js';
import { toast } from '../../http/toast.js';
import { formatDateTime } from '../../http/view-helpers.js';
import { recoveryActions } from '../../recovery/actions.js';
import { tokenExists } from '../../recovery/tokens.js';
import { loadSubject } from './request.js';

declare module 'express-session' {
  interface SessionData {
    /** A link made by a plain form post, until the page after the redirect has shown it (once). */
    recoveryLink?: { userId: number; link: string; expires: string; ttl: number };
  }
}

const HOUR = 3_600_000;
/** Lifetimes an administrator may choose for a link, besides RECOVERY_TOKEN_TTL. */
const LIFETIMES: [string, number][] = [
  ['30 minutes', HOUR / 2],
  ['1 hour', HOUR],
  ['4 hours', 4 * HOUR],
  ['24 hours', 24 * HOUR],
];

export function lifetime(config: Config, value: unknown): number {
  const ms = Number(value);
  return LIFETIMES.some(([, allowed]) => allowed === ms) ? ms : config.recoveryTokenTtlMs;
}

/** Modal for htmx, page otherwise; never cached, since it may hold a secret. */
function show(req: Request, res: Response, view: Record<string, unknown> & { content: string }, status = 200) {
  res.set('Cache-Control', 'no-store');
  const user = req.subject!;
  const locals = { nav: 'users', user, crumbs: [{ href: `/directory/users/${user.id}`, text: user.username }], ...view };
  return res.dialog(locals, status);
}

/** After an action that only needs a toast: htmx stays where it is, a plain form goes back. */
function done(req: Request, res: Response, status = 200) {
  if (isRegion(req)) return res.set('HX-Reswap', 'none').fragment('shared/_empty', {}, status);
  res.redirect(303, postedFrom(req) ?? `/directory/users/${req.subject!.id}`);
}

/**
 * The administrator's recovery actions on one user: copy a link, e-mail a link, set a password.
 * `member` answers under /directory/users/:userId; `byId` answers /directory/users/recovery-link and
 * /directory/users/recovery-email, with the user as the field `id`: the list's fifty rows then each
 * carry a button with only an id, not a URL of its own.
 */
export function recoveryRoutes(config: Config, db: Knex): { member: Router; byId: Router } {
  const member = Router();
  const byId = Router();
  const actions = recoveryActions(config, db);

  const showLink = (
    req: Request,
    res: Response,
    locals: { link?: string; expires?: Date; ttl: number; replaced?: boolean; from?: string },
  ) => {
    const user = req.subject!;
    return show(req, res, {
      title: `Recovery link for ${user.username}`,
      content: '../recovery/_link',
      lifetimes: LIFETIMES,
      usable: user.isActive,
      ...locals,
    });
  };

  // In the modal, the POST shows the link. Without htmx, Post/Redirect/Get: the link waits in the
  // session for the page after the redirect, which shows it once; reloading that page makes no new
  // link, so the one shown (maybe already sent) keeps working. The token never goes into a URL.
  const copyLink = async (req: Request, res: Response) => {
    const user = req.subject!;
    const ttl = lifetime(config, req.body?.ttl);
    const { link, expires } = await actions.copyLink(req, user, ttl);
    if (isRegion(req, 'modal')) return showLink(req, res, { link, expires, ttl });
    req.session.recoveryLink = { userId: user.id, link, expires: expires.toISOString(), ttl };
    const from = postedFrom(req);
    res.redirect(303, `/directory/users/${user.id}/recovery-link${from ? `?from=${encodeURIComponent(from)}` : ''}`);
  };

  member.get('/recovery-link', async (req, res) => {
    const made = req.session.recoveryLink;
    const mine = made?.userId === req.subject!.id ? made : undefined;
    if (mine) delete req.session.recoveryLink;
    // Two posts at once (a double-click) each make a link, and the later one replaces the earlier;
    // which of them the session kept is a matter of timing, so a replaced link is never shown.
    const current = mine && (await tokenExists(db, mine.link.slice(mine.link.lastIndexOf('/') + 1))) ? mine : undefined;
    await showLink(req, res, {
      link: current?.link,
      expires: current && new Date(current.expires),
      ttl: mine?.ttl ?? config.recoveryTokenTtlMs,
      replaced: Boolean(mine && !current),
      from: openedFrom(req),
    });
  });

  const emailLink = async (req: Request, res: Response) => {
    const user = req.subject!;
    const result = await actions.emailLink(req, user, lifetime(config, req.body?.ttl));
    if (!result.ok) {
      toast(req, result.message, { kind: 'error' });
      return done(req, res, result.status);
    }
    toast(req, `Recovery link sent to ${user.email}. It works until ${formatDateTime(result.expires)}.`);
    return done(req, res);
  };

  const subject = loadSubject(db);
  const userFromBody = (req: Request, res: Response, next: NextFunction) => subject(req, res, next, String(req.body?.id ?? ''));
  for (const [action, handler] of [
    ['recovery-link', copyLink],
    ['recovery-email', emailLink],
  ] as const) {
    member.post(`/${action}`, handler);
    byId.post(`/${action}`, userFromBody, handler);
  }

  member.get('/password', (req, res) =>
    show(req, res, { title: `Set the password of ${req.subject!.username}`, content: '../recovery/_set-password', errors: {} }),
  );

  member.post('/password', async (req, res) => {
    const user = req.subject!;
    const password = String(req.body?.password ?? '');
    const errors: Record<string, string> = {};
    const problem = passwordProblem(password, user.username);
    if (problem) errors.password = problem;
    else if (password !== String(req.body?.password_repeat ?? '')) errors.password_repeat = 'The two passwords do not match';
    if (Object.keys(errors).length) {
      return show(req, res, { title: `Set the password of ${user.username}`, content: '../recovery/_set-password', errors }, 422);
    }
    await actions.setPassword(req, user, password);
    await finishDialog(req, res, {
      changed: 'users-changed',
      toast: `Password of ${user.username} set. Their other sessions have ended.`,
      back: `/directory/users/${user.id}`,
    });
  });

  return { member, byId };
}
