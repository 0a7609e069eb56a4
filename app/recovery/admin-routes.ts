import { Router, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { safeNext } from '../auth/routes.js';
import { hashPassword, passwordProblem } from '../auth/passwords.js';
import type { Config } from '../config.js';
import { actorOf, loadSubject } from '../directory/users/request.js';
import { setPassword, type User } from '../directory/users/users.js';
import { recordEvent } from '../events/events.js';
import { wantsFragment } from '../http/htmx.js';
import { toast } from '../http/toast.js';
import { formatDateTime } from '../http/view-helpers.js';
import { createMailer, MailError } from '../mail/mailer.js';
import { createRecoveryToken, deleteToken, issueRecoveryToken, revokeOtherTokens } from './tokens.js';

const HOUR = 3_600_000;
/** Lifetimes an administrator may choose for a link, besides RECOVERY_TOKEN_TTL. */
const LIFETIMES: [string, number][] = [['30 minutes', HOUR / 2], ['1 hour', HOUR], ['4 hours', 4 * HOUR], ['24 hours', 24 * HOUR]];

function lifetime(config: Config, value: unknown): number {
  const ms = Number(value);
  return LIFETIMES.some(([, allowed]) => allowed === ms) ? ms : config.recoveryTokenTtlMs;
}

function linkFor(config: Config, token: string): string {
  return `${config.publicUrl}/recovery/${token}`;
}

function renderText(res: Response, view: string, locals: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => res.app.render(view, locals, (err, out) => (err ? reject(err) : resolve(out))));
}

/** Modal for htmx, page otherwise; never cached, since it may hold a secret. */
function show(req: Request, res: Response, view: Record<string, unknown>, status = 200) {
  res.set('Cache-Control', 'no-store');
  const user = req.subject!;
  const locals = { nav: 'users', user, crumbs: [{ href: `/directory/users/${user.id}`, text: user.username }], ...view };
  return wantsFragment(req, 'modal') ? res.fragment('shared/_modal', locals, status) : res.page('shared/form-page', locals, status);
}

/** After an action that only needs a toast: htmx stays where it is, a plain form goes back. */
function done(req: Request, res: Response, status = 200) {
  if (req.htmx && !req.htmx.boosted) return res.set('HX-Reswap', 'none').fragment('shared/_empty', {}, status);
  res.redirect(303, safeNext(req.body?.from) ?? `/directory/users/${req.subject!.id}`);
}

/** The administrator's recovery actions: copy a link, e-mail a link, set a password. */
export function recoveryAdminRoutes(config: Config, db: Knex): Router {
  const router = Router();
  router.param('userId', loadSubject(db));
  const mailer = createMailer(config);

  router.post('/directory/users/:userId/recovery-link', async (req, res) => {
    const user = req.subject!;
    const ttl = lifetime(config, req.body?.ttl);
    const issued = await createRecoveryToken(db, user.id, ttl);
    await recordEvent(db, {
      action: 'secret_view', user: req.user, app: 'roster.recovery', clientIp: req.ip,
      context: { secret: 'recovery_link', user: user.username, expires: issued.expires.toISOString() },
    });
    await show(req, res, {
      title: `Recovery link for ${user.username}`, content: '../recovery/_link', link: linkFor(config, issued.token),
      expires: issued.expires, lifetimes: LIFETIMES, ttl, usable: user.isActive,
    });
  });

  router.post('/directory/users/:userId/recovery-email', async (req, res) => {
    const user = req.subject!;
    const refuse = (message: string, status: number) => {
      toast(req, message, { kind: 'error' });
      return done(req, res, status);
    };
    if (!mailer.enabled) return refuse('E-mail is not set up: set SMTP_URL to send recovery links. Nothing was sent.', 503);
    if (!user.email) return refuse('No email address set.', 422);
    if (!user.isActive) return refuse(`${user.username} is deactivated: a recovery link would not work. Nothing was sent.`, 422);
    const issued = await issueRecoveryToken(db, user.id, lifetime(config, req.body?.ttl));
    try {
      await mailer.send(await recoveryMail(res, user, linkFor(config, issued.token), issued.expires));
    } catch (err) {
      await deleteToken(db, issued.id);
      if (!(err instanceof MailError)) throw err;
      req.log.warn({ cause: err.message, user: user.id }, 'recovery e-mail not sent');
      return refuse(`The recovery e-mail could not be sent: ${err.message} Nothing was changed.`, 502);
    }
    await revokeOtherTokens(db, user.id, issued.id);
    await recordEvent(db, {
      action: 'email_sent', user: req.user, app: 'roster.recovery', clientIp: req.ip,
      context: { subject: 'recovery_link', to: user.email, user: user.username },
    });
    toast(req, `Recovery link sent to ${user.email}. It works until ${formatDateTime(issued.expires)}.`);
    return done(req, res);
  });

  router.get('/directory/users/:userId/password', (req, res) =>
    show(req, res, { title: `Set the password of ${req.subject!.username}`, content: '../recovery/_set-password', errors: {} }));

  router.post('/directory/users/:userId/password', async (req, res) => {
    const user = req.subject!;
    const password = String(req.body?.password ?? '');
    const errors: Record<string, string> = {};
    const problem = passwordProblem(password, user.username);
    if (problem) errors.password = problem;
    else if (password !== String(req.body?.password_repeat ?? '')) errors.password_repeat = 'The two passwords do not match';
    if (Object.keys(errors).length) {
      return show(req, res, { title: `Set the password of ${user.username}`, content: '../recovery/_set-password', errors }, 422);
    }
    await db.transaction(async (trx) => {
      await setPassword(trx, user.id, await hashPassword(password, config.bcryptRounds), user.id === req.user!.id ? req.sessionID : undefined);
      await recordEvent(trx, { action: 'password_set', user: req.user, app: 'roster.directory', clientIp: req.ip, context: { user: user.username, method: 'admin' } });
    });
    toast(req, `Password of ${user.username} set. Their other sessions have ended.`);
    if (wantsFragment(req, 'modal')) return res.set('HX-Refresh', 'true').status(204).end();
    res.redirect(303, `/directory/users/${user.id}`);
  });

  return router;
}

async function recoveryMail(res: Response, user: User, link: string, expires: Date) {
  const locals = { user, link, expires: formatDateTime(expires) };
  return {
    to: user.name ? `"${user.name.replace(/["\\\r\n]/g, '')}" <${user.email}>` : user.email,
    subject: 'Reset your password',
    text: await renderText(res, 'mail/recovery-text', locals),
    html: await renderText(res, 'mail/recovery-html', locals),
  };
}
