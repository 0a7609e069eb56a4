import Joi from 'joi';
import { hasControlChars, USERNAME_MAX } from './identity/names.js';

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  databaseUrl: string;
  sessionSecret: string | undefined;
  publicUrl: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  bootstrap: { username: string; password: string | undefined; email: string | undefined };
  recoveryTokenTtlMs: number;
  trustProxy: boolean | number | string;
  logLevel: string;
  /** Whether deleting a user also deletes the events they caused (GDPR; authentik does). */
  deleteUserEvents: boolean;
  /** gzip responses in Node; off by default (a reverse proxy does it cheaper). */
  compression: boolean;
  /** bcrypt work factor; production is always ≥ 12, tests may lower it for speed. */
  bcryptRounds: number;
  /** How often each process's scheduler looks for due work (scheduled offboarding). */
  schedulerIntervalMs: number;
}

export class ConfigError extends Error {}

export const DEFAULT_SQLITE_FILE = 'data/roster.sqlite3';

const DURATION = /^(\d+)\s*(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "30m" → 1 800 000. Accepts s, m, h and d. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

const duration = Joi.string()
  .custom((value: string, helpers) => {
    const ms = parseDuration(value);
    return ms && ms > 0 ? ms : helpers.error('any.invalid');
  })
  .messages({ 'any.invalid': '{{#label}} must be a duration such as 45s, 30m, 12h or 1d' });

const schema = Joi.object({
  NODE_ENV: Joi.string().valid('development', 'production', 'test').default('development'),
  PORT: Joi.number().integer().min(0).max(65535).default(3000).messages({ '*': '{{#label}} must be a port number between 0 and 65535' }),
  DATABASE_URL: Joi.string()
    .trim()
    .pattern(/^(mysql|mariadb):\/\/[^/\s]+\/[^/\s?]+(\?.*)?$|^sqlite:.+$/)
    .default(`sqlite:${DEFAULT_SQLITE_FILE}`)
    .messages({ 'string.pattern.base': '{{#label}} must look like mysql://user:pass@host:3306/db or sqlite:<path>' }),
  SESSION_SECRET: Joi.string().min(32).when('NODE_ENV', { is: 'production', then: Joi.required() }).messages({
    'any.required': '{{#label}} is required when NODE_ENV=production',
    'string.min': '{{#label}} must be at least 32 characters',
  }),
  PUBLIC_URL: Joi.string()
    .uri({ scheme: ['http', 'https'] })
    .messages({ '*': '{{#label}} must be an http:// or https:// URL' }),
  SMTP_URL: Joi.string()
    .uri({ scheme: ['smtp', 'smtps'] })
    .messages({ '*': '{{#label}} must look like smtp://user:pass@host:587 or smtps://…' }),
  MAIL_FROM: Joi.string().trim().max(320).default('Roster <roster@localhost>'),
  BOOTSTRAP_USERNAME: Joi.string()
    .trim()
    .max(USERNAME_MAX)
    .default('akadmin')
    .custom((value: string, helpers) => (hasControlChars(value) ? helpers.error('any.invalid') : value))
    .messages({ '*': '{{#label}} must be a username of at most 150 characters without control characters' }),
  BOOTSTRAP_PASSWORD: Joi.string().min(8).max(72).messages({ '*': '{{#label}} must be 8 to 72 characters long' }),
  BOOTSTRAP_EMAIL: Joi.string().email({ tlds: false }).messages({ '*': '{{#label}} must be an e-mail address' }),
  RECOVERY_TOKEN_TTL: duration.default(30 * UNIT_MS.m),
  // At most a day: a longer timer would overflow Node's (about 24 days) and fire at once, again and again.
  SCHEDULER_INTERVAL: Joi.string()
    .custom((value: string, helpers) => {
      const ms = parseDuration(value);
      return ms && ms >= UNIT_MS.s && ms <= UNIT_MS.d ? ms : helpers.error('any.invalid');
    })
    .default(30 * UNIT_MS.s)
    .messages({ 'any.invalid': '{{#label}} must be a duration from 1s to 1d, such as 30s or 5m' }),
  TRUST_PROXY: Joi.alternatives(Joi.boolean().truthy('1').falsy('0'), Joi.number().integer().min(0), Joi.string().pattern(/^[\w.:/, -]+$/))
    .default(false)
    .messages({ '*': '{{#label}} must be true, false, a hop count or a list of addresses' }),
  COMPRESSION: Joi.boolean()
    .truthy('1', 'yes', 'on')
    .falsy('0', 'no', 'off')
    .default(false)
    .messages({ '*': '{{#label}} must be true or false' }),
  DELETE_USER_EVENTS: Joi.boolean().truthy('1', 'yes').falsy('0', 'no').default(true).messages({ '*': '{{#label}} must be true or false' }),
  LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
}).unknown(true);

/** Reads the environment; throws ConfigError with one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const { value, error } = schema.validate(cleaned, { abortEarly: true, convert: true });
  if (error) throw new ConfigError(`Invalid configuration: ${error.details[0].message.replace(/"/g, '')}`);
  const port: number = value.PORT;
  return {
    env: value.NODE_ENV,
    port,
    databaseUrl: value.DATABASE_URL,
    sessionSecret: value.SESSION_SECRET,
    publicUrl: (value.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    smtpUrl: value.SMTP_URL,
    mailFrom: value.MAIL_FROM,
    bootstrap: {
      username: value.BOOTSTRAP_USERNAME,
      password: value.BOOTSTRAP_PASSWORD,
      email: value.BOOTSTRAP_EMAIL,
    },
    recoveryTokenTtlMs: value.RECOVERY_TOKEN_TTL,
    trustProxy: value.TRUST_PROXY,
    logLevel: value.LOG_LEVEL,
    deleteUserEvents: value.DELETE_USER_EVENTS,
    compression: value.COMPRESSION,
    bcryptRounds: 12,
    schedulerIntervalMs: value.SCHEDULER_INTERVAL,
  };
}
