/**
 * JSON schemas and types of the index service's HTTP API (index-http-server.ts).
 *
 * Validation runs in fastify (ajv) with type coercion switched off for the whole server: a JSON
 * body must carry real numbers (ajv's default coercion would turn `null` into 0 inside a
 * vector). Query-string integers therefore arrive as strings and are declared as digit strings;
 * the route parses them and checks their range.
 */
import type { FaceErrorCode } from '../errors/face-error.js';
import type { Box, Point } from '../engine/types.js';

export const MAX_QUERY_VECTORS = 256;
export const MAX_K = 100;
export const DEFAULT_K = 5;
export const DEFAULT_PERSONS_LIMIT = 100;
export const MAX_PERSONS_LIMIT = 1000;
export const MAX_PERSON_ID_LENGTH = 512;

export interface SearchBody {
  vectors: number[][];
  k?: number;
  /** k persons (each one's closest face) instead of k faces. */
  persons?: boolean;
  /** EmbeddingModel.id of the vectors; refused with 409 MODEL_MISMATCH when the index holds another. */
  model?: string;
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

/** GET /healthz, and GET /readyz when ready (503 with status 'not_ready' otherwise). */
export interface HealthResponse {
  status: 'ok' | 'not_ready';
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

/** Default request-body limit of the image routes (identify, verify): 50 MB. */
export const DEFAULT_MAX_IMAGE_BYTES = 50 * 1024 * 1024;
/** Longest `name` query parameter (the image's name, used in error messages). */
export const MAX_IMAGE_NAME_LENGTH = 1024;

export interface IdentifyQuery {
  k?: string;
  /** Names the image in error messages (e.g. the client's file path). Default "image". */
  name?: string;
}

export interface IdentifyMatch {
  personId: string;
  /** The person's closest face. */
  faceId: string;
  /** Euclidean distance between the probe face and that face. */
  distance: number;
}

export interface IdentifiedFace {
  box: Box;
  score: number;
  landmarks: Point[];
  /** Top-k persons, one entry each (their closest face), ascending by distance. */
  matches: IdentifyMatch[];
  /** The decision (src/identification/identification-rule.ts): a person, or null for "nobody in the gallery". */
  personId: string | null;
}

export interface IdentifyResponse {
  width: number;
  height: number;
  /** The threshold the decisions used. */
  threshold: number;
  /** In the engine's detection order; empty when the image has no face. */
  faces: IdentifiedFace[];
}

export interface VerifyQuery {
  personId: string;
  /** Names the image in error messages. Default "image". */
  name?: string;
}

export interface VerifyResponse {
  personId: string;
  /** distance <= threshold; false when the image has no face. */
  match: boolean;
  /** The smallest distance between a face of the image and a face of the person; null without a face. */
  distance: number | null;
  threshold: number;
  /** Which face of the image (engine detection order) was closest; null without a face. */
  faceIndex: number | null;
}

/** Error codes of the service; the engine's refusals of a bad image keep their FaceError code. */
export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'CONFLICT'
  | 'MODEL_MISMATCH'
  | 'ENGINE_UNAVAILABLE'
  | 'INTERNAL'
  | FaceErrorCode;

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
    persons: { type: 'boolean' },
    /** The embedding model of the vectors: refused (409) when the index holds another model's. */
    model: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

/** A non-negative decimal integer as a query-string value. */
const digits = { type: 'string', pattern: '^[0-9]{1,9}$' } as const;

export const personsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: digits, offset: digits },
} as const;

const imageName = { type: 'string', minLength: 1, maxLength: MAX_IMAGE_NAME_LENGTH } as const;

export const identifyQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { k: digits, name: imageName },
} as const;

export const verifyQuerySchema = {
  type: 'object',
  required: ['personId'],
  additionalProperties: false,
  properties: {
    personId: { type: 'string', minLength: 1, maxLength: MAX_PERSON_ID_LENGTH },
    name: imageName,
  },
} as const;

export const personParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: MAX_PERSON_ID_LENGTH } },
} as const;
