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
  };
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
  if (Object.keys(errors).length || 'problem' in attributes) return { values, errors };
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
    },
  };
}

export { attributesText, parseAttributes } from '../form-fields.js';
