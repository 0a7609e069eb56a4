import nodemailer from 'nodemailer';
import type { Config } from '../config.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** False when SMTP_URL is not set: nothing can be sent. */
  readonly enabled: boolean;
  send(mail: Mail): Promise<void>;
}

export class MailError extends Error {}

/**
 * Sends over SMTP_URL from MAIL_FROM. Timeouts are short and explicit, so an unreachable or silent
 * server gives a clear error within seconds instead of a hanging request.
 */
export function createMailer(config: Config): Mailer {
  if (!config.smtpUrl) {
    return {
      enabled: false,
      send: async () => {
        throw new MailError('E-mail is not set up (SMTP_URL is not set).');
      },
    };
  }
  const transport = nodemailer.createTransport(config.smtpUrl, {
    from: config.mailFrom,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  } as never);
  return {
    enabled: true,
    async send(mail) {
      try {
        await transport.sendMail(mail);
      } catch (err) {
        const { code, response, message } = err as { code?: string; response?: string; message?: string };
        const cause = (response ?? message ?? 'unknown error').replace(/\s+/g, ' ').slice(0, 160);
        throw new MailError(`The mail server did not take the message (${code ? `${code}: ` : ''}${cause}).`);
      }
    },
  };
}
