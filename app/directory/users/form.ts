import Joi from 'joi';
import { normalName, USERNAME_MAX, validName } from '../../identity/names.js';
import { ATTRIBUTES_MAX, attributesText, checkbox, parseAttributes, text } from '../form-fields.js';
import { DEFAULT_PATH, pathProblem, USER_TYPES, type UserType } from './rules.js';

/** The form as typed: what a re-rendered form shows back. */
export interface UserFormValues {
  username: string;
  path: string;
  attributes: string;
  name: string;
  email: string;
  is_active: boolean;
  type: string;
  /** A datetime-local value in UTC (2026-12-31T17:00), or empty: never expires. */
  valid_until: string;
}

export type UserFormErrors = Partial<Record<keyof UserFormValues, string>>;

export interface UserFields {
  username: string;
  path: string;
  attributes: Record<string, unknown>;
  name: string;
  email: string;
  isActive: boolean;
  type: UserType;
  /** Expired from then on; null: never. */
  validUntil: Date | null;
}

/** The form's values for a user as stored (the edit form, a partial update's defaults). */
export function userFormValues(user: UserFields): UserFormValues {
  return {
    username: user.username,
    path: user.path,
    attributes: attributesText(user.attributes),
    name: user.name,
    email: user.email,
    is_active: user.isActive,
    type: user.type,
    valid_until: validUntilText(user.validUntil),
  };
}

/** The earliest and latest end of validity taken: both databases store any time between. */
const VALID_FROM = Date.UTC(1970, 0, 1);
const VALID_TO = Date.UTC(9999, 11, 31, 23, 59, 59);
const NOT_A_TIME = 'Enter a date and time such as 2026-12-31T17:00 (UTC), or leave it empty for never';
const OUT_OF_RANGE = 'Enter a time between the years 1970 and 9999';
/** A datetime-local value (no zone: UTC, as the form says), or ISO 8601 with Z or an offset (the API). */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * "Valid until" as typed: empty is never; a time is read in UTC unless it names its offset. Parts
 * of a second are dropped (MariaDB keeps whole seconds, SQLite would keep them: both keep the
 * same). A time in the past is taken: the account is expired at once, as the form's hint says.
 */
export function parseValidUntil(text: string): { value: Date | null } | { problem: string } {
  const typed = text.trim();
  if (!typed) return { value: null };
  const parts = DATE_TIME.exec(typed);
  if (!parts) return { problem: NOT_A_TIME };
  const [year, month, day, hour, minute, second = 0] = parts.slice(1, 7).map((p) => (p === undefined ? undefined : Number(p)));
  if (year! < 1970) return { problem: OUT_OF_RANGE }; // and Date.UTC would read the years 0–99 as 1900–1999
  const date = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second));
  // Date.UTC rolls 31 February over into March and 24:00 into the next day: such a time was never typed right.
  const same = date.getUTCFullYear() === year && date.getUTCMonth() === month! - 1 && date.getUTCDate() === day;
  if (!same || hour! > 23 || minute! > 59 || second > 59) return { problem: NOT_A_TIME };
  const zone = parts[7]?.toUpperCase();
  let ms = date.getTime();
  if (zone && zone !== 'Z') {
    const [, sign, hours, minutes] = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    if (Number(hours) > 23 || Number(minutes) > 59) return { problem: NOT_A_TIME };
    ms -= (sign === '+' ? 1 : -1) * (Number(hours) * 60 + Number(minutes)) * 60_000;
  }
  if (ms < VALID_FROM || ms > VALID_TO) return { problem: OUT_OF_RANGE };
  return { value: new Date(ms) };
}

/** A stored end of validity as the form's datetime-local field shows it, in UTC; seconds only when set. */
export function validUntilText(date: Date | null): string {
  if (!date) return '';
  const iso = date.toISOString();
  return date.getUTCSeconds() ? iso.slice(0, 19) : iso.slice(0, 16);
}

const schema = Joi.object<UserFormValues>({
  username: Joi.string()
    .trim()
    .required()
    .max(USERNAME_MAX)
    .custom(validName)
    .messages({
      'string.empty': 'Enter a username',
      'any.required': 'Enter a username',
      'string.max': `Use at most ${USERNAME_MAX} characters`,
    }),
  path: Joi.string()
    .required()
    .custom((value: string, helpers) => {
      const problem = pathProblem(value);
      return problem ? helpers.message({ custom: problem }) : normalName(value);
    })
    .messages({ 'string.empty': pathProblem('')! }),
  attributes: Joi.string().allow('').max(ATTRIBUTES_MAX).messages({ 'string.max': 'Attributes are limited to 64 KB' }),
  name: Joi.string().trim().allow('').max(255).messages({ 'string.max': 'Use at most 255 characters' }),
  email: Joi.string()
    .trim()
    .allow('')
    .max(254)
    .email({ tlds: false })
    .messages({ 'string.email': 'Enter an e-mail address such as ana@example.com', 'string.max': 'Use at most 254 characters' }),
  is_active: Joi.boolean(),
  type: Joi.string()
    .valid(...USER_TYPES)
    .messages({ 'any.only': 'Choose internal, external or service account' }),
}).unknown(true);

export function formValues(body: Record<string, unknown>, defaults: UserFormValues): UserFormValues {
  const has = (key: string) => body[key] !== undefined;
  return {
    username: has('username') ? text(body.username) : defaults.username,
    path: has('path') ? text(body.path).trim() : defaults.path,
    attributes: has('attributes') ? text(body.attributes) : defaults.attributes,
    name: has('name') ? text(body.name) : defaults.name,
    email: has('email') ? text(body.email) : defaults.email,
    is_active: checkbox(body.is_active, defaults.is_active),
    type: has('type') ? text(body.type) : defaults.type,
    valid_until: has('valid_until') ? text(body.valid_until) : defaults.valid_until,
  };
}

export const NEW_USER_VALUES: UserFormValues = {
  username: '',
  path: DEFAULT_PATH,
  attributes: '{}',
  name: '',
  email: '',
  is_active: true,
  type: 'internal',
  valid_until: '',
};

/** Validates a submitted form against the current values (defaults for a new user). */
export function readUserForm(
  body: Record<string, unknown>,
  defaults: UserFormValues = NEW_USER_VALUES,
): { values: UserFormValues; errors: UserFormErrors; fields?: UserFields } {
  const values = formValues(body ?? {}, defaults);
  const { value, error } = schema.validate(values, { abortEarly: false, convert: true });
  const errors: UserFormErrors = {};
  for (const detail of error?.details ?? []) {
    const key = detail.path[0] as keyof UserFormValues;
    errors[key] ??= detail.message;
  }
  const attributes = parseAttributes(values.attributes);
  if ('problem' in attributes) errors.attributes ??= attributes.problem;
  const validUntil = parseValidUntil(values.valid_until);
  if ('problem' in validUntil) errors.valid_until = validUntil.problem;
  if (Object.keys(errors).length || 'problem' in attributes || 'problem' in validUntil) return { values, errors };
  return {
    values,
    errors,
    fields: {
      username: value.username,
      path: value.path,
      attributes: attributes.value,
      name: value.name,
      email: value.email,
      isActive: value.is_active,
      type: value.type as UserType,
      validUntil: validUntil.value,
    },
  };
}

export { attributesText, parseAttributes } from '../form-fields.js';
