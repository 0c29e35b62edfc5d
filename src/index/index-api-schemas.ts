/**
 * JSON schemas and types of the index service's HTTP API (index-http-server.ts).
 *
 * Validation runs in fastify (ajv) with type coercion switched off for the whole server: a JSON
 * body must carry real numbers (ajv's default coercion would turn `null` into 0 inside a
 * vector). Query-string integers therefore arrive as strings and are declared as digit strings;
 * the route parses them and checks their range.
 */

export const MAX_QUERY_VECTORS = 256;
export const MAX_K = 100;
export const DEFAULT_K = 5;
export const DEFAULT_PERSONS_LIMIT = 100;
export const MAX_PERSONS_LIMIT = 1000;
export const MAX_PERSON_ID_LENGTH = 512;

export interface SearchBody {
  vectors: number[][];
  k?: number;
}

export interface SearchHit {
  personId: string;
  faceId: string;
  /** Euclidean distance to the query vector. */
  distance: number;
}

export interface SearchResponse {
  /** One list per query vector, in query order; each ascending by distance. */
  results: SearchHit[][];
}

export interface PersonsQuery {
  limit?: string;
  offset?: string;
}

export interface PersonsResponse {
  /** Total persons in the index. */
  persons: number;
  /** Total faces in the index. */
  faces: number;
  /** One page, sorted by personId. */
  items: Array<{ personId: string; faces: number }>;
}

export interface PersonParams {
  id: string;
}

export interface PersonResponse {
  personId: string;
  faces: string[];
}

export interface DeletePersonResponse {
  personId: string;
  removed: number;
}

export type ApiErrorCode = 'BAD_REQUEST' | 'NOT_FOUND' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'INTERNAL';

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/** Dimension is checked by the route (to name the index's dim in the message), not here. */
export const searchBodySchema = {
  type: 'object',
  required: ['vectors'],
  additionalProperties: false,
  properties: {
    vectors: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_QUERY_VECTORS,
      items: { type: 'array', items: { type: 'number' } },
    },
    k: { type: 'integer', minimum: 1, maximum: MAX_K },
  },
} as const;

/** A non-negative decimal integer as a query-string value. */
const digits = { type: 'string', pattern: '^[0-9]{1,9}$' } as const;

export const personsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: digits, offset: digits },
} as const;

export const personParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: MAX_PERSON_ID_LENGTH } },
} as const;
