/**
 * The index service's HTTP API (DESIGN.md, "Index service"), on fastify.
 *
 *   POST   /v1/search          { vectors: number[][], k? } -> { results: [[{ personId, faceId, distance }]] }
 *   GET    /v1/persons         ?limit&offset -> { persons, faces, items: [{ personId, faces }] }
 *   GET    /v1/persons/:id     -> { personId, faces: [faceId] } | 404
 *   DELETE /v1/persons/:id     -> { personId, removed } | 404 (gallery first, via onDeletePerson)
 *   GET    /healthz            -> 200 { status: 'ok' }
 *   GET    /readyz             -> 200 { status: 'ok' } | 503 { status: 'not_ready' }
 *
 * Errors are `{ error: { code, message } }`: 400 BAD_REQUEST (schema validation, vector
 * dimension), 404 NOT_FOUND, 413/415 for oversized or non-JSON bodies, 500 INTERNAL.
 *
 * The builder does not listen: the caller calls `app.listen()` (tests use `app.inject()`).
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { FaceIndex, FaceIndexError } from './face-index.js';
import {
  DEFAULT_K,
  DEFAULT_PERSONS_LIMIT,
  MAX_PERSONS_LIMIT,
  MAX_QUERY_VECTORS,
  personParamsSchema,
  personsQuerySchema,
  searchBodySchema,
  type ApiErrorBody,
  type ApiErrorCode,
  type DeletePersonResponse,
  type PersonParams,
  type PersonResponse,
  type PersonsQuery,
  type PersonsResponse,
  type SearchBody,
  type SearchResponse,
} from './index-api-schemas.js';

export interface IndexServerOptions {
  index: FaceIndex;
  /** The model's match threshold (Euclidean); kept for identify/verify, which come later. */
  threshold: number;
  /** Readiness for /readyz (e.g. snapshot restored and changes replayed). Default: always ready. */
  ready?: () => boolean;
  /**
   * Called (and awaited) before a person leaves the index: the caller writes the gallery
   * tombstone here, so a crash in between cannot resurrect the person on the next rebuild.
   * If it throws, the index is left untouched and the request fails with 500.
   */
  onDeletePerson?: (personId: string) => Promise<void>;
  /** fastify's logger option (false by default). */
  logger?: FastifyServerOptions['logger'];
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function errorBody(code: ApiErrorCode, message: string): ApiErrorBody {
  return { error: { code, message } };
}

/** `/vectors/0/3` -> `vectors[0][3]`. */
function fieldName(instancePath: string): string {
  return instancePath
    .split('/')
    .filter((part) => part !== '')
    .map((part, i) => (/^[0-9]+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

/** A message naming the offending field, from fastify's (ajv) validation error. */
function validationMessage(error: FastifyError): string {
  const first = error.validation?.[0];
  const context = error.validationContext ?? 'request';
  if (!first) return error.message;
  const params = first.params as Record<string, unknown>;
  let field = fieldName(first.instancePath);
  if (first.keyword === 'required' && typeof params.missingProperty === 'string') {
    field = field ? `${field}.${params.missingProperty}` : params.missingProperty;
    return `${context}: ${field} is required`;
  }
  if (first.keyword === 'pattern') return `${context}: ${field} must be a non-negative integer`;
  return `${context}: ${field || context} ${first.message ?? 'is invalid'}`;
}

function parseIntParam(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ApiError(400, 'BAD_REQUEST', `querystring: ${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

export function buildIndexServer(options: IndexServerOptions): FastifyInstance {
  const { index, threshold } = options;
  const ready = options.ready ?? (() => true);
  const onDeletePerson = options.onDeletePerson;
  if (!(index instanceof FaceIndex)) throw new TypeError('buildIndexServer: index must be a FaceIndex');
  if (!Number.isFinite(threshold) || threshold <= 0) {
    throw new RangeError(`buildIndexServer: threshold must be a positive number, got ${threshold}`);
  }
  const dim = index.dim;

  const app = Fastify({
    logger: options.logger ?? false,
    // Room for a full batch of vectors written out as JSON decimals (~25 bytes per value).
    bodyLimit: Math.max(1 << 20, MAX_QUERY_VECTORS * dim * 32 + 4096),
    // No coercion: a JSON vector must hold numbers, never null/"0.1"/true turned into numbers.
    ajv: { customOptions: { coerceTypes: false } },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ApiError) {
      return reply.status(error.statusCode).send(errorBody(error.code, error.message));
    }
    if (error.validation) {
      return reply.status(400).send(errorBody('BAD_REQUEST', validationMessage(error)));
    }
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.status(413).send(errorBody('PAYLOAD_TOO_LARGE', error.message));
    if (status === 415) return reply.status(415).send(errorBody('UNSUPPORTED_MEDIA_TYPE', error.message));
    if (status === 404) return reply.status(404).send(errorBody('NOT_FOUND', error.message));
    if (status >= 400 && status < 500) return reply.status(400).send(errorBody('BAD_REQUEST', error.message));
    request.log.error({ err: error }, 'index API request failed');
    return reply.status(500).send(errorBody('INTERNAL', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    return reply.status(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (ready()) return { status: 'ok' };
    return reply.status(503).send({ status: 'not_ready' });
  });

  app.post<{ Body: SearchBody }>('/v1/search', { schema: { body: searchBodySchema } }, async (request) => {
    const { vectors, k = DEFAULT_K } = request.body;
    for (let i = 0; i < vectors.length; i++) {
      if (vectors[i].length !== dim) {
        throw new ApiError(
          400,
          'BAD_REQUEST',
          `body: vectors[${i}] has ${vectors[i].length} values, the index dimension is ${dim}`,
        );
      }
    }
    let matches;
    try {
      matches = index.search(vectors, k);
    } catch (err) {
      if (err instanceof FaceIndexError) throw new ApiError(400, 'BAD_REQUEST', `body: ${err.message}`);
      throw err;
    }
    const response: SearchResponse = {
      results: matches.map((list) =>
        list.map(({ personId, faceId, distance }) => ({ personId, faceId, distance })),
      ),
    };
    return response;
  });

  app.get<{ Querystring: PersonsQuery }>(
    '/v1/persons',
    { schema: { querystring: personsQuerySchema } },
    async (request) => {
      const limit = parseIntParam('limit', request.query.limit, DEFAULT_PERSONS_LIMIT, 1, MAX_PERSONS_LIMIT);
      const offset = parseIntParam('offset', request.query.offset, 0, 0, Number.MAX_SAFE_INTEGER);
      const all = index.persons();
      const response: PersonsResponse = {
        persons: all.length,
        faces: index.size,
        items: all.slice(offset, offset + limit),
      };
      return response;
    },
  );

  /** The person's face ids; a 404 when the index holds none. */
  const knownPersonFaces = (personId: string): string[] => {
    const faces = index.personFaces(personId);
    if (faces.length === 0) throw new ApiError(404, 'NOT_FOUND', `person ${personId} is not in the index`);
    return faces;
  };

  app.get<{ Params: PersonParams }>(
    '/v1/persons/:id',
    { schema: { params: personParamsSchema } },
    async (request) => {
      const personId = request.params.id;
      const response: PersonResponse = { personId, faces: knownPersonFaces(personId).sort() };
      return response;
    },
  );

  app.delete<{ Params: PersonParams }>(
    '/v1/persons/:id',
    { schema: { params: personParamsSchema } },
    async (request) => {
      const personId = request.params.id;
      knownPersonFaces(personId);
      // The gallery forgets first; only then the index (see IndexServerOptions.onDeletePerson).
      if (onDeletePerson) await onDeletePerson(personId);
      const response: DeletePersonResponse = { personId, removed: index.removePerson(personId) };
      return response;
    },
  );

  return app;
}
