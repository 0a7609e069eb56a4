/**
 * The SCIM schemas Roster serves (RFC 7643), as data: the Schemas endpoint shows them, and filters,
 * PATCH and attribute selection read attribute types, case rules and mutability from them. What is
 * listed here is kept and returned; an attribute that no schema lists is kept in the user's
 * attributes (see README, "SCIM") but never returned.
 */
export type AttrType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';

export interface AttrDef {
  name: string;
  type: AttrType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttrDef[];
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttrDef[];
}

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ROSTER_SCHEMA = 'urn:roster:params:scim:schemas:extension:roster:2.0:User';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SEARCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

type Options = Partial<Omit<AttrDef, 'name' | 'type' | 'description'>>;

function attr(name: string, type: AttrType, description: string, options: Options = {}): AttrDef {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
  };
}

const text = (name: string, description: string, options: Options = {}) => attr(name, 'string', description, options);
const complex = (name: string, description: string, subAttributes: AttrDef[], options: Options = {}) =>
  attr(name, 'complex', description, { ...options, subAttributes });

/** A multi-valued attribute of the usual shape (RFC 7643 §2.4): value, display, type, primary. */
function multi(name: string, description: string, types: string[], valueType: AttrType = 'string'): AttrDef {
  return complex(
    name,
    description,
    [
      attr('value', valueType, `The ${name.replace(/s$/, '')}.`),
      text('display', 'A human-readable name, primarily used for display purposes.'),
      text('type', 'A label indicating the function of the value.', { canonicalValues: types }),
      attr('primary', 'boolean', 'Whether this is the primary value.'),
    ],
    { multiValued: true },
  );
}

const ID = text('id', 'Unique identifier of the resource, assigned by Roster (the numeric id of the user or group).', {
  caseExact: true,
  mutability: 'readOnly',
  returned: 'always',
  uniqueness: 'server',
});

const EXTERNAL_ID = text('externalId', 'Identifier of the resource as the provisioning client knows it.', { caseExact: true });

export const USER: SchemaDef = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    text('userName', 'Unique identifier for the user, used to log in. Case-sensitive in Roster, like usernames everywhere in it.', {
      required: true,
      caseExact: true,
      uniqueness: 'server',
    }),
    complex('name', 'The components of the user’s real name.', [
      text('formatted', 'The full name, formatted for display.'),
      text('familyName', 'The family name.'),
      text('givenName', 'The given name.'),
      text('middleName', 'The middle name(s).'),
      text('honorificPrefix', 'The honorific prefix(es), such as Ms.'),
      text('honorificSuffix', 'The honorific suffix(es), such as III.'),
    ]),
    text('displayName', 'The name of the user, suitable for display: Roster’s Name.'),
    text('nickName', 'The casual way to address the user.'),
    attr('profileUrl', 'reference', 'A URL of the user’s online profile.', { referenceTypes: ['external'] }),
    text('title', 'The user’s title, such as Vice President.'),
    text('userType', 'The relationship between the organization and the user, such as Employee or Contractor.'),
    text('preferredLanguage', 'The user’s preferred written or spoken language.'),
    text('locale', 'The user’s default location.'),
    text('timezone', 'The user’s time zone, in the IANA format.'),
    attr('active', 'boolean', 'Whether the user may log in. False deactivates the user: their sessions and tokens end.'),
    text('password', 'A new password for the user. Never returned.', { mutability: 'writeOnly', returned: 'never' }),
    multi('emails', 'E-mail addresses. Roster keeps the primary one as the user’s e-mail; filters match that one.', [
      'work',
      'home',
      'other',
    ]),
    multi('phoneNumbers', 'Phone numbers, kept as given.', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    complex(
      'addresses',
      'Physical mailing addresses, kept as given.',
      [
        text('formatted', 'The full mailing address.'),
        text('streetAddress', 'The street address.'),
        text('locality', 'The city or locality.'),
        text('region', 'The state or region.'),
        text('postalCode', 'The zip code or postal code.'),
        text('country', 'The country name (ISO 3166-1 alpha-2).'),
        text('type', 'A label indicating the function of the address.', { canonicalValues: ['work', 'home', 'other'] }),
        attr('primary', 'boolean', 'Whether this is the primary address.'),
      ],
      { multiValued: true },
    ),
    complex(
      'groups',
      'The groups the user is a member of. Read-only: membership changes through the Group resource.',
      [
        text('value', 'The id of the group.', { mutability: 'readOnly' }),
        attr('$ref', 'reference', 'The URI of the group.', { mutability: 'readOnly', referenceTypes: ['Group'] }),
        text('display', 'The name of the group.', { mutability: 'readOnly' }),
        text('type', 'How the user is a member: direct (Roster groups do not nest).', {
          mutability: 'readOnly',
          canonicalValues: ['direct'],
        }),
      ],
      { multiValued: true, mutability: 'readOnly' },
    ),
    multi('entitlements', 'Entitlements, kept as given.', []),
    multi('roles', 'Roles, kept as given.', []),
  ],
};

export const ENTERPRISE_USER: SchemaDef = {
  id: ENTERPRISE_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User: kept as given, in the user’s attributes.',
  attributes: [
    text('employeeNumber', 'A string identifier, typically numeric or alphanumeric, assigned to a person.'),
    text('costCenter', 'The name of a cost center.'),
    text('organization', 'The name of an organization.'),
    text('division', 'The name of a division.'),
    text('department', 'The name of a department.'),
    complex('manager', 'The user’s manager.', [
      text('value', 'The id of the manager’s User resource.'),
      attr('$ref', 'reference', 'The URI of the manager’s User resource.', { referenceTypes: ['User'] }),
      text('displayName', 'The manager’s display name.', { mutability: 'readOnly' }),
    ]),
  ],
};

export const ROSTER_USER: SchemaDef = {
  id: ROSTER_SCHEMA,
  name: 'RosterUser',
  description: 'What Roster keeps of a user beyond the core schema.',
  attributes: [
    text('path', 'The folder the user is in, such as users/staff. A token bound to a folder creates users there.', { caseExact: true }),
    attr('validUntil', 'dateTime', 'The end of the account’s validity: login is refused from then on. Absent: never.'),
    text('type', 'The kind of account.', { canonicalValues: ['internal', 'external', 'service_account'], caseExact: true }),
  ],
};

export const GROUP: SchemaDef = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    text('displayName', 'The name of the group, unique in Roster (case-sensitive).', {
      required: true,
      caseExact: true,
      uniqueness: 'server',
    }),
    complex(
      'members',
      'The users in the group. Roster groups hold users only.',
      [
        text('value', 'The id of the member User.', { mutability: 'immutable' }),
        attr('$ref', 'reference', 'The URI of the member.', { mutability: 'immutable', referenceTypes: ['User'] }),
        text('display', 'The userName of the member.', { mutability: 'readOnly' }),
        text('type', 'The kind of member: User.', { mutability: 'immutable', canonicalValues: ['User'] }),
      ],
      { multiValued: true },
    ),
  ],
};

/** Attributes every resource has (RFC 7643 §3.1), listed in each resource's core schema on output. */
export const COMMON: AttrDef[] = [
  ID,
  EXTERNAL_ID,
  complex(
    'meta',
    'Resource metadata.',
    [
      text('resourceType', 'The name of the resource type.', { caseExact: true, mutability: 'readOnly' }),
      attr('created', 'dateTime', 'When the resource was created.', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', 'When the resource was last changed.', { mutability: 'readOnly' }),
      attr('location', 'reference', 'The URI of the resource.', { caseExact: true, mutability: 'readOnly', referenceTypes: ['uri'] }),
      text('version', 'The version (ETag) of the resource.', { caseExact: true, mutability: 'readOnly' }),
    ],
    { mutability: 'readOnly' },
  ),
];

export interface ResourceType {
  name: 'User' | 'Group';
  endpoint: '/Users' | '/Groups';
  core: SchemaDef;
  extensions: SchemaDef[];
}

export const USER_TYPE: ResourceType = { name: 'User', endpoint: '/Users', core: USER, extensions: [ENTERPRISE_USER, ROSTER_USER] };
export const GROUP_TYPE: ResourceType = { name: 'Group', endpoint: '/Groups', core: GROUP, extensions: [] };

/** An attribute found by its path, and the schema it belongs to. */
export interface Resolved {
  schema: string;
  /** The top-level attribute. */
  attr: AttrDef;
  /** The sub-attribute, for paths such as name.givenName. */
  sub?: AttrDef;
}

function byName(list: AttrDef[], name: string): AttrDef | undefined {
  const lower = name.toLowerCase();
  return list.find((a) => a.name.toLowerCase() === lower);
}

/**
 * An attribute path as RFC 7644 writes it — `userName`, `name.givenName`, `emails.value`, with or
 * without its schema's URN (`urn:…:enterprise:2.0:User:department`, `urn:…:User:manager.value`) —
 * resolved against a resource type. Names compare without case (RFC 7643 §2.1). Undefined when
 * nothing by that name exists.
 */
export function resolvePath(type: ResourceType, path: string): Resolved | undefined {
  let schemas = [type.core, ...type.extensions];
  let rest = path;
  const urn = schemas
    .map((s) => s.id)
    .sort((a, b) => b.length - a.length)
    .find((id) => path.toLowerCase().startsWith(`${id.toLowerCase()}:`));
  if (urn) {
    schemas = schemas.filter((s) => s.id === urn);
    rest = path.slice(urn.length + 1);
  }
  const [top, sub, ...more] = rest.split('.');
  if (more.length || !top) return undefined;
  for (const schema of schemas) {
    const list = schema === type.core ? [...COMMON, ...schema.attributes] : schema.attributes;
    const found = byName(list, top);
    if (!found) continue;
    if (sub === undefined) return { schema: schema.id, attr: found };
    const subAttr = found.subAttributes && byName(found.subAttributes, sub);
    return subAttr ? { schema: schema.id, attr: found, sub: subAttr } : undefined;
  }
  return undefined;
}
