import type { FastifySchema } from 'fastify';
import { readPackageJson } from '../../config/package-root.js';

/** A JSON Schema as Fastify, fast-json-stringify and @fastify/swagger take it. */
export type JsonSchema = Record<string, unknown>;

/**
 * A schema shipped in schemas/ (`api-message` → schemas/api-message.schema.json), with its references to
 * sibling files (`"$ref": "api-audit-record.schema.json"`) replaced by those files' schemas: the routes
 * then need no shared-schema registry, and @fastify/swagger turns each embedded `$id` into one
 * component of the document.
 */
export function apiSchema(name: string): JsonSchema {
  return embedSiblings(readPackageJson<JsonSchema>('schemas', `${name}.schema.json`)) as JsonSchema;
}

function embedSiblings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(embedSiblings);
  if (typeof value !== 'object' || value === null) return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && /^[\w-]+\.schema\.json$/.test(ref)) return apiSchema(ref.slice(0, -'.schema.json'.length));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, embedSiblings(v)]));
}

export const errorSchema = apiSchema('api-error');
export const messageSchema = apiSchema('api-message');
export const acceptedSchema = apiSchema('api-message-accepted');
export const problemSchema = apiSchema('api-problem');

/**
 * One response of a route: its description for the document, and its schema — by reference (allOf), so
 * a schema with an `$id` stays one component however many routes answer it.
 */
export function response(description: string, schema: JsonSchema): JsonSchema {
  return { description, allOf: [schema] };
}

/** A response whose body is not JSON (text/xml, text/plain, problem+json): documented, never serialized by Fastify. */
export function mediaResponse(description: string, media: string, schema: JsonSchema): JsonSchema {
  return { description, content: { [media]: { schema: { allOf: [schema] } } } };
}

/** What each refusal of the JSON APIs means, by status: the body is always `errorSchema`. */
type RefusalStatus = 400 | 401 | 403 | 404 | 409 | 422 | 429 | 503 | '4xx' | '5xx';
const REFUSALS: Readonly<Record<RefusalStatus, string>> = {
  400: 'The request does not fit the schema (TRAMITE_ERR_BAD_REQUEST), or a protocol check refused it.',
  401: 'No token, or not one this API takes.',
  403: 'The token may not act for that party or service.',
  404: 'No such message visible to this token (TRAMITE_ERR_NOT_FOUND).',
  409: 'The message is not in a state that allows this (already answered, not resendable, ambiguous id).',
  422:
    'The request refers to no message, party or Comune it may refer to (EGOV_IT_104, 109, 111; TRAMITE_ERR_NO_ROUTE; sent by role: ' +
    'TRAMITE_ERR_UNKNOWN_ROLE, TRAMITE_ERR_UNKNOWN_TERRITORY, TRAMITE_ERR_AMBIGUOUS_TERRITORY, TRAMITE_ERR_NO_COMPETENT_PARTY).',
  429: 'Too many requests from this caller: retry after the Retry-After header’s seconds (TRAMITE_ERR_RATE_LIMITED).',
  '4xx': 'Another refusal of the request: too large (413), a media type the route does not take (415).',
  503: 'The node cannot take the request now (too many request bytes in flight, the log unavailable): retry after Retry-After.',
  '5xx': 'The node failed (EGOV_IT_300 internal error, or the code of what failed).',
};

/** The error responses of a JSON route, for these statuses (a route lists those it can answer). */
export function refusals(...statuses: readonly RefusalStatus[]): Record<string, JsonSchema> {
  return Object.fromEntries(statuses.map((s) => [s, response(REFUSALS[s], errorSchema)]));
}

/**
 * A route's `config` that documents a request body Fastify must not validate (raw bytes: a signed
 * envelope is verified over exactly what arrived): added to the route's schema for the document only.
 */
export function documentedBody(description: string, content: Record<string, JsonSchema>): { swaggerTransform: DocumentTransform } {
  const body = { description, content: Object.fromEntries(Object.entries(content).map(([media, schema]) => [media, { schema }])) };
  return { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body }, url }) };
}

type DocumentTransform = (route: { schema: object; url: string }) => { schema: object; url: string };

/**
 * A route's schema as Fastify's general FastifySchema: its handler sets the status the node's answer
 * carries (a number), which a literal schema's list of statuses would not let it.
 */
export function routeSchema(schema: FastifySchema): FastifySchema {
  return schema;
}
