import Joi from 'joi';
import { validName } from '../../identity/names.js';
import { checkbox, parseAttributes, text } from '../form-fields.js';
import type { GroupFields } from './groups.js';

/** The group form as typed (and the fields SCIM writes through the same rules). */
export interface GroupFormValues {
  name: string;
  is_superuser: boolean;
  attributes: string;
}
export type GroupFormErrors = Partial<Record<keyof GroupFormValues, string>>;

const nameSchema = Joi.string()
  .trim()
  .required()
  .max(150)
  .custom(validName)
  .messages({ 'string.empty': 'Enter a name', 'any.required': 'Enter a name', 'string.max': 'Use at most 150 characters' });

export function readGroupForm(body: Record<string, unknown> = {}, defaults: GroupFormValues) {
  const values: GroupFormValues = {
    name: body.name !== undefined ? text(body.name) : defaults.name,
    is_superuser: checkbox(body.is_superuser, defaults.is_superuser),
    attributes: body.attributes !== undefined ? text(body.attributes) : defaults.attributes,
  };
  const errors: GroupFormErrors = {};
  const name = nameSchema.validate(values.name);
  if (name.error) errors.name = name.error.details[0].message;
  const attributes = parseAttributes(values.attributes);
  if ('problem' in attributes) errors.attributes = attributes.problem;
  const fields: GroupFields | undefined =
    Object.keys(errors).length || 'problem' in attributes
      ? undefined
      : { name: name.value, isSuperuser: values.is_superuser, attributes: attributes.value };
  return { values, errors, fields };
}
