import { MAX_RESULTS } from './resource.js';
import { COMMON, GROUP_TYPE, type ResourceType, type SchemaDef, USER_TYPE } from './schema.js';

export const BULK_MAX_OPERATIONS = 1000;
export const BULK_MAX_BYTES = 4 * 1024 * 1024;

/** What Roster supports, and what not (RFC 7643 §5). */
export function serviceProviderConfig(base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: BULK_MAX_BYTES },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: true },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'An API token with the purpose "SCIM provisioning", made on Directory > Tokens: Authorization: Bearer <token>.',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypeOf(type: ResourceType, base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: type.name,
    name: type.name,
    endpoint: type.endpoint,
    description: type.name === 'User' ? 'User Account' : 'Group',
    schema: type.core.id,
    ...(type.extensions.length ? { schemaExtensions: type.extensions.map((e) => ({ schema: e.id, required: false })) } : {}),
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${type.name}` },
  };
}

export const RESOURCE_TYPES = [USER_TYPE, GROUP_TYPE];

/** Each schema as the Schemas endpoint shows it; a core schema lists the common attributes too. */
export function schemaOf(schema: SchemaDef, base: string) {
  const core = RESOURCE_TYPES.some((t) => t.core === schema);
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: core ? [...COMMON.filter((a) => a.name !== 'id' && a.name !== 'meta'), ...schema.attributes] : schema.attributes,
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${schema.id}` },
  };
}

export const SCHEMAS: SchemaDef[] = RESOURCE_TYPES.flatMap((t) => [t.core, ...t.extensions]);
