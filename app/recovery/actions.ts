import type { Application, Request } from 'express';
import type { Knex } from 'knex';
import { hashPassword } from '../auth/passwords.js';
import type { Config } from '../config.js';
import type { User } from '../directory/users/users.js';
import { recordEvent } from '../events/events.js';
import { formatDateTime } from '../http/view-helpers.js';
import { setPassword } from '../identity/identity.js';
import { createMailer, MailError } from '../mail/mailer.js';
import { createRecoveryToken, deleteToken, issueRecoveryToken, revokeOtherTokens } from './tokens.js';

function renderText(app: Application, view: string, locals: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => app.render(view, locals, (err, out) => (err ? reject(err) : resolve(out))));
}

export type EmailResult = { ok: true; expires: Date } | { ok: false; message: string; status: number };

/** What an administrator (in a page or through the API) does to get a user back in. */
export function recoveryActions(config: Config, db: Knex) {
  const mailer = createMailer(config);
  const linkFor = (token: string) => `${config.publicUrl}/recovery/${token}`;

  return {
    /** A new single-use link (older ones stop working); recorded as `secret_view`. */
    async copyLink(req: Request, user: User, ttlMs: number) {
      const issued = await createRecoveryToken(db, user.id, ttlMs);
      await recordEvent(db, {
        action: 'secret_view',
        user: req.user,
        app: 'roster.recovery',
        clientIp: req.ip,
        context: { secret: 'recovery_link', user: user.username, expires: issued.expires.toISOString() },
      });
      return { link: linkFor(issued.token), expires: issued.expires };
    },

    /** Mails a new link; nothing changes (older links keep working) unless the mail went out. */
    async emailLink(req: Request, user: User, ttlMs: number): Promise<EmailResult> {
      if (!mailer.enabled)
        return { ok: false, message: 'E-mail is not set up: set SMTP_URL to send recovery links. Nothing was sent.', status: 503 };
      if (!user.email) return { ok: false, message: 'No email address set.', status: 422 };
      if (!user.isActive)
        return { ok: false, message: `${user.username} is deactivated: a recovery link would not work. Nothing was sent.`, status: 422 };
      const issued = await issueRecoveryToken(db, user.id, ttlMs);
      const locals = { user, link: linkFor(issued.token), expires: formatDateTime(issued.expires) };
      try {
        await mailer.send({
          to: user.name ? `"${user.name.replace(/["\\\r\n]/g, '')}" <${user.email}>` : user.email,
          subject: 'Reset your password',
          text: await renderText(req.app, 'mail/recovery-text', locals),
          html: await renderText(req.app, 'mail/recovery-html', locals),
        });
      } catch (err) {
        await deleteToken(db, issued.id);
        if (!(err instanceof MailError)) throw err;
        req.log?.warn({ cause: err.message, user: user.id }, 'recovery e-mail not sent');
        return { ok: false, message: `The recovery e-mail could not be sent: ${err.message} Nothing was changed.`, status: 502 };
      }
      await revokeOtherTokens(db, user.id, issued.id);
      await recordEvent(db, {
        action: 'email_sent',
        user: req.user,
        app: 'roster.recovery',
        clientIp: req.ip,
        context: { subject: 'recovery_link', to: user.email, user: user.username },
      });
      return { ok: true, expires: issued.expires };
    },

    /** Sets a password and ends the user's other sessions; recorded as `password_set`. */
    async setPassword(req: Request, user: User, password: string) {
      const hash = await hashPassword(password, config.bcryptRounds);
      await db.transaction(async (trx) => {
        await setPassword(trx, user.id, hash, user.id === req.user!.id ? req.sessionID : undefined);
        await recordEvent(trx, {
          action: 'password_set',
          user: req.user,
          app: 'roster.directory',
          clientIp: req.ip,
          context: { user: user.username, method: 'admin' },
        });
      });
    },
  };
}
