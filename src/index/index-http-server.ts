/**
 * The index service's HTTP API (DESIGN.md, "Index service"), on fastify.
 *
 *   POST   /v1/search          ?threshold&marginWeight, { vectors: number[][], k?, persons? } ->
 *                                  { results: [[{ personId, faceId, distance }]], decisions? (with persons) }
 *   GET    /v1/persons, GET and DELETE /v1/persons/:id   person-routes.ts
 *   POST   /v1/identify        ?k&name&threshold&marginWeight, raw image bytes -> { width, height, threshold,
 *                                  faces: [{ box, score, landmarks, matches, personId, decision }] }
 *   POST   /v1/verify          ?personId&name, raw image bytes -> { personId, match, distance,
 *                                  threshold, faceIndex } | 404
 *   GET    /healthz            -> 200 { status: 'ok' }
 *   GET    /readyz             -> 200 { status: 'ok' } | 503 { status: 'not_ready' }
 *   GET    /metrics, /openapi.json, /docs   Prometheus text, the OpenAPI document, Swagger UI (ops/)
 *
 * Errors are `{ error: { code, message } }`: 400 BAD_REQUEST (schema validation, vector
 * dimension), 404 NOT_FOUND, 413/415 for oversized or non-JSON bodies, 500 INTERNAL. The image
 * routes take the encoded image as the body (Content-Type image/* or application/octet-stream) or as
 * the first file part of a multipart/form-data upload (image-body.ts);
 * an image the engine refuses is a 400 with the engine's code (NOT_AN_IMAGE, TRUNCATED_IMAGE,
 * EMPTY_FILE, ...), and without an engine (no `analyze` option) they answer 503 ENGINE_UNAVAILABLE.
 *
 * Every route declares who may call it in `config.role` ('public', 'read', 'admin'; none means
 * admin), checked by the API-key hook when `auth` is given (401 UNAUTHORIZED, 403 FORBIDDEN). The
 * image routes analyse at most `limits.maxConcurrentImages` at once, `limits.maxQueuedImages` more wait
 * in line (beyond: 503 BUSY, Retry-After), and
 * refuse uploads over `limits.maxPixels` from the image header (400 TOO_MANY_PIXELS).
 *
 * The builder does not listen: the caller calls `app.listen()` (tests use `app.inject()`).
 */
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import sharp from 'sharp';
import { HTTP_LIMIT_DEFAULTS, type HttpLimits } from '../config/http-limits-config.js';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import type { ImageAnalysis } from '../engine/engine-types.js';
import { faceDistance } from '../engine/face-distance.js';
import { FaceError } from '../errors/face-error.js';
import type { ImageInput } from '../engine/types.js';
import { FaceIndex, FaceIndexError, type FaceMatch } from './face-index.js';
import {
  identifyFace,
  personsToFetch,
  type DecisionRule,
  type IdentificationRule,
} from '../identification/identification-rule.js';
import type { QualityGates } from '../identification/quality-gates.js';
import { validationMessage, validatorCompiler } from './api-validation.js';
import { ACCEPTED_IMAGE_BODIES, readImageBody, registerImageBodies, unsupportedMediaMessage } from './image-body.js';
import { type ApiAuthOptions, installApiAuth } from './auth/api-auth-hook.js';
import { ImageSlots } from './image-slots.js';
import { SearchTurns } from './search-turns.js';
import {
  DEFAULT_K,
  DEFAULT_MAX_IMAGE_BYTES,
  MAX_QUERY_VECTORS,
  errorResponses,
  healthResponseSchema,
  identifyQuerySchema,
  identifyResponseSchema,
  searchBodySchema,
  searchQuerySchema,
  searchResponseSchema,
  verifyQuerySchema,
  verifyResponseSchema,
  type ApiErrorBody,
  type ApiErrorCode,
  type IdentifyResponse,
  type SearchResponse,
  type VerifyResponse,
} from './index-api-schemas.js';
import { registerServerOps } from './ops/server-ops.js';
import { PERSON_CHANGE_ROUTES, type PersonReadOptions, registerPersonReadRoutes } from './person-routes.js';

export interface IndexServerOptions {
  /**
   * The index to serve, or a function giving the current one (an index service swaps in a rebuilt
   * index); each request reads it once. Its dimension must not change.
   */
  index: FaceIndex | (() => FaceIndex);
  /** The model's 1:1 match threshold (Euclidean), used by verify. */
  threshold: number;
  /**
   * The embedding model (EmbeddingModel.id) of the indexed vectors: a search naming another model
   * is refused with 409 MODEL_MISMATCH, since distances between two models' vectors mean nothing.
   */
  model?: string;
  /**
   * The 1:N decision rule of identify and person search, or a function giving the current one (the
   * deployment's calibrated setting can change while the service runs); default: a plain distance
   * threshold at `threshold`. Whatever the rule, `threshold` caps the distance of a named face.
   */
  rule?: IdentificationRule | (() => IdentificationRule);
  /**
   * Quality gates of /v1/identify (FACEPIPE_GATE_*), as the identify workers apply them: a face
   * failing one is answered with personId null, outcome low-quality and the gates it failed.
   */
  gates?: QualityGates;
  /** Hub normalisation: the per-person offsets in force (identify and person search); none: plain distances. */
  entryOffsets?: () => ReadonlyMap<string, number> | undefined;
  /**
   * The engine (FaceEngine.analyze): every face of an image with its embedding, rejecting with a
   * FaceError for a bad image. Without it, /v1/identify and /v1/verify answer 503.
   */
  analyze?: (input: ImageInput) => Promise<ImageAnalysis>;
  /** Body limit of the image routes, in bytes (default DEFAULT_MAX_IMAGE_BYTES, 50 MB). */
  maxImageBytes?: number;
  /** Readiness for /readyz (e.g. snapshot restored and changes replayed). Default: always ready. */
  ready?: () => boolean;
  /**
   * Whether the index is loaded: until it is, the routes that read or change it (search, identify,
   * verify, persons) answer 503 NOT_READY with Retry-After. Default: always loaded.
   */
  loaded?: () => boolean;
  /**
   * Called (and awaited) before a person leaves the index: the caller writes the gallery
   * tombstone here, so a crash in between cannot resurrect the person on the next rebuild.
   * If it throws, the index is left untouched and the request fails with 500.
   */
  onDeletePerson?: (personId: string) => Promise<void>;
  /**
   * API keys (auth/api-auth-hook.ts): every route declares `config.role`; none means 'admin'.
   * Without this option nothing is checked: for tests and embedding only (startIndexService always sets it).
   */
  auth?: ApiAuthOptions;
  /** Limits of the image routes and connections (default HTTP_LIMIT_DEFAULTS). */
  limits?: Partial<HttpLimits>;
  /** fastify's logger option (false by default). */
  logger?: FastifyServerOptions['logger'];
  /** The Prometheus registry of GET /metrics (default: the server's own; a service passes the process's). */
  metrics?: Registry;
  /** Names, search, enrolled records and last sightings of the person routes (person-routes.ts). */
  persons?: Pick<PersonReadOptions, 'directory' | 'lastSeen'>;
}

/** The routes that need the index loaded. */
const INDEX_ROUTES = new Set([
  '/v1/search',
  '/v1/identify',
  '/v1/verify',
  '/v1/persons',
  '/v1/persons/:id',
  ...PERSON_CHANGE_ROUTES,
]);

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

export function buildIndexServer(options: IndexServerOptions): FastifyInstance {
  const { threshold } = options;
  const givenRule = options.rule ?? { threshold, marginWeight: 0 };
  /** The rule of one request: the service's current one, with the request's query parameters over it. */
  const ruleFor = (query: { threshold?: number; marginWeight?: number }): DecisionRule => {
    const base = typeof givenRule === 'function' ? givenRule() : givenRule;
    return {
      threshold: query.threshold ?? base.threshold,
      marginWeight: query.marginWeight ?? base.marginWeight,
      maxDistance: threshold,
      gates: options.gates,
      entryOffsets: options.entryOffsets?.(),
    };
  };
  const given = options.index;
  const current: () => FaceIndex = typeof given === 'function' ? given : () => given;
  const ready = options.ready ?? (() => true);
  const loaded = options.loaded ?? (() => true);
  const onDeletePerson = options.onDeletePerson;
  if (!(current() instanceof FaceIndex)) throw new TypeError('buildIndexServer: index must be a FaceIndex');
  if (!Number.isFinite(threshold) || threshold <= 0) {
    throw new RangeError(`buildIndexServer: threshold must be a positive number, got ${threshold}`);
  }
  const dim = current().dim;
  const analyze = options.analyze;
  const maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  if (!Number.isSafeInteger(maxImageBytes) || maxImageBytes <= 0) {
    throw new RangeError(`buildIndexServer: maxImageBytes must be a positive integer, got ${maxImageBytes}`);
  }

  const limits: HttpLimits = { ...HTTP_LIMIT_DEFAULTS, ...options.limits };
  const slots = new ImageSlots(limits.maxConcurrentImages, limits.maxQueuedImages);
  // Searches take turns with the other routes' I/O (search-turns.ts): /healthz answers under load.
  const turns = new SearchTurns();

  const app = Fastify({
    logger: options.logger ?? false,
    // A body trickled byte by byte holds a connection and a buffer: the whole request must arrive
    // within requestTimeout. Node checks it every connectionsCheckingInterval (30 s by default), so
    // the interval follows the timeout for the limit to hold to within a quarter of it.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    // Node 20 leaves requestTimeout unchecked while headersTimeout (60 s) is the larger: keep it within.
    http: {
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(limits.requestTimeoutMs / 4))),
      headersTimeout: Math.min(60_000, limits.requestTimeoutMs),
    },
    // Person ids are up to 128 characters (gallery/person-id.ts), over fastify's default 100: longer
    // ones reach the schema and get its 400, never a misleading 404.
    routerOptions: { maxParamLength: 512 },
    // Room for a full batch of vectors written out as JSON decimals (~25 bytes per value).
    bodyLimit: Math.max(1 << 20, MAX_QUERY_VECTORS * dim * 32 + 4096),
  }).withTypeProvider<ZodTypeProvider>();
  // Every route's schemas are zod's (index-api-schemas.ts): requests parsed without coercion (a JSON
  // vector must hold numbers, never null/"0.1"/true turned into numbers), answers serialized by them.
  app.setValidatorCompiler(validatorCompiler);
  if (options.auth) installApiAuth(app, options.auth);
  app.setSerializerCompiler(serializerCompiler);
  // /openapi.json, /docs and /metrics; first, so that the OpenAPI document sees every route.
  registerServerOps(app, {
    registry: options.metrics,
    index: current,
    images: () => ({ analysing: slots.inUse, waiting: slots.waiting }),
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ApiError) {
      if (error.code === 'BUSY' || error.code === 'NOT_READY') reply.header('retry-after', '1');
      return reply.status(error.statusCode).send(errorBody(error.code, error.message));
    }
    if (error.validation) {
      return reply.status(400).send(errorBody('BAD_REQUEST', validationMessage(error)));
    }
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.status(413).send(errorBody('PAYLOAD_TOO_LARGE', error.message));
    if (status === 415)
      return reply
        .status(415)
        .send(errorBody('UNSUPPORTED_MEDIA_TYPE', unsupportedMediaMessage(request, error.message)));
    if (status === 404) return reply.status(404).send(errorBody('NOT_FOUND', error.message));
    if (status >= 400 && status < 500) return reply.status(400).send(errorBody('BAD_REQUEST', error.message));
    request.log.error({ err: error }, 'index API request failed');
    return reply.status(500).send(errorBody('INTERNAL', 'internal error'));
  });

  // Image routes: the encoded image as the body, or as a multipart upload (image-body.ts).
  registerImageBodies(app, maxImageBytes);

  // The service listens before its index is loaded (minutes for a large gallery): answer, not refuse.
  app.addHook('preHandler', async (request) => {
    const route = request.routeOptions.url ?? '';
    if (!INDEX_ROUTES.has(route) || loaded()) return;
    throw new ApiError(503, 'NOT_READY', 'the index is still loading (snapshot or gallery): retry shortly');
  });

  app.setNotFoundHandler((request, reply) => {
    return reply.status(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.get(
    '/healthz',
    { config: { role: 'public' }, schema: { response: { 200: healthResponseSchema } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    { config: { role: 'public' }, schema: { response: { 200: healthResponseSchema, 503: healthResponseSchema } } },
    async (_request, reply) => {
      if (ready()) return { status: 'ok' as const };
      return reply.status(503).send({ status: 'not_ready' });
    },
  );

  const searchSchema = {
    body: searchBodySchema,
    querystring: searchQuerySchema,
    response: { 200: searchResponseSchema, ...errorResponses },
  };
  app.post('/v1/search', { config: { role: 'read' }, schema: searchSchema }, async (request) => {
    const { vectors, k = DEFAULT_K, persons = false, model } = request.body;
    if (model !== undefined && options.model !== undefined && model !== options.model) {
      throw new ApiError(
        409,
        'MODEL_MISMATCH',
        `the vectors are ${model} embeddings, this index holds ${options.model}: use the same model and adapter, or rebuild the index with it`,
      );
    }
    for (let i = 0; i < vectors.length; i++) {
      if (vectors[i].length !== dim) {
        throw new ApiError(
          400,
          'BAD_REQUEST',
          `body: vectors[${i}] has ${vectors[i].length} values, the index dimension is ${dim}`,
        );
      }
    }
    let matches: FaceMatch[][];
    try {
      // Persons: as many as the rule compares, whatever k, so that the decision never depends on k.
      const index = current();
      const toFetch = personsToFetch(k, options.entryOffsets?.() !== undefined);
      matches = await turns.each(vectors, (vector, i) =>
        oneQuery(i, () => (persons ? index.searchPersons([vector], toFetch)[0] : index.search([vector], k)[0])),
      );
    } catch (err) {
      if (err instanceof FaceIndexError) throw new ApiError(400, 'BAD_REQUEST', `body: ${err.message}`);
      throw err;
    }
    const plain = (list: readonly FaceMatch[]) =>
      list.map(({ personId, faceId, distance }) => ({ personId, faceId, distance }));
    if (!persons) return { results: matches.map(plain) } satisfies SearchResponse;
    const rule = ruleFor(request.query);
    const decided = matches.map((list) => identifyFace(list, k, rule));
    const response: SearchResponse = {
      results: decided.map((d) => plain(d.matches)),
      decisions: decided.map((d) => ({ personId: d.personId, ...d.decision })),
    };
    return response;
  });

  /** The engine, or a 503 ENGINE_UNAVAILABLE when the service runs without one. */
  const requireEngine = (): NonNullable<IndexServerOptions['analyze']> => {
    if (!analyze) {
      throw new ApiError(
        503,
        'ENGINE_UNAVAILABLE',
        'this index service runs without a face engine: it cannot analyze images',
      );
    }
    return analyze;
  };

  /** An image slot, waiting in line for one; false when the line is full or the client left while waiting. */
  const takeImageSlot = async (request: FastifyRequest): Promise<boolean> => {
    const left = new AbortController();
    const socket = request.raw.socket as typeof request.raw.socket | undefined;
    const onClose = () => left.abort();
    socket?.once('close', onClose);
    try {
      return await slots.acquire(left.signal);
    } finally {
      socket?.off('close', onClose);
    }
  };

  /** The request's image bytes analysed by the engine; a bad image becomes a 400 with the engine's code. */
  const analyzeBody = async (request: FastifyRequest, name: string | undefined): Promise<ImageAnalysis> => {
    const engine = requireEngine();
    if (!request.isMultipart() && request.body !== undefined && !Buffer.isBuffer(request.body)) {
      // A body another parser took (JSON): the right route, the wrong kind of body.
      throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', unsupportedMediaMessage(request, 'not an image body'));
    }
    const body = await readImageBody(request);
    if (body === undefined) throw new ApiError(400, 'BAD_REQUEST', `body: expected ${ACCEPTED_IMAGE_BODIES}`);
    if (!(await takeImageSlot(request))) {
      throw new ApiError(
        503,
        'BUSY',
        `the service is analysing ${slots.max} images and ${slots.maxWaiting} more wait (its limits, ` +
          'FACEPIPE_HTTP_MAX_IMAGES and FACEPIPE_HTTP_MAX_QUEUED_IMAGES): retry shortly',
      );
    }
    let analysis: ImageAnalysis;
    try {
      await refuseTooManyPixels(body, limits.maxPixels);
      analysis = await engine({
        bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        name: name ?? 'image',
      }).catch((err: unknown) => {
        if (err instanceof FaceError && err.code !== 'ENGINE_FAILURE') throw new ApiError(400, err.code, err.message);
        throw err;
      });
    } finally {
      slots.release();
    }
    for (const face of analysis.faces) {
      // A server set up with an index of another model's dimension: a 500, logged with this message.
      if (face.embedding.length !== dim) {
        throw new Error(`the engine's embeddings have ${face.embedding.length} values, the index dimension is ${dim}`);
      }
    }
    return analysis;
  };

  app.post(
    '/v1/identify',
    {
      config: { role: 'read' },
      schema: { querystring: identifyQuerySchema, response: { 200: identifyResponseSchema, ...errorResponses } },
      bodyLimit: maxImageBytes,
    },
    async (request) => {
      requireEngine();
      const { k = DEFAULT_K } = request.query;
      const rule = ruleFor(request.query);
      const { width, height, faces } = await analyzeBody(request, request.query.name);
      const index = current();
      const found =
        faces.length === 0
          ? []
          : await turns.each(faces, (face, i) =>
              oneQuery(
                i,
                () => index.searchPersons([face.embedding], personsToFetch(k, rule.entryOffsets !== undefined))[0],
              ),
            );
      const response: IdentifyResponse = {
        width,
        height,
        threshold: rule.threshold,
        faces: faces.map((face, i) => {
          const { box, score, landmarks } = face;
          // The gates see the detection as the identify workers do (same decision path).
          const { matches, personId, decision } = identifyFace(found[i], k, rule, face);
          return { box, score, landmarks, matches, personId, decision };
        }),
      };
      return response;
    },
  );

  app.post(
    '/v1/verify',
    {
      config: { role: 'read' },
      schema: { querystring: verifyQuerySchema, response: { 200: verifyResponseSchema, ...errorResponses } },
      bodyLimit: maxImageBytes,
    },
    async (request) => {
      const { personId, name } = request.query;
      requireEngine();
      const index = current();
      const personFaces = knownPersonFaces(index, personId).flatMap((faceId) => index.embedding(faceId) ?? []);
      const { faces } = await analyzeBody(request, name);
      let distance: number | null = null;
      let faceIndex: number | null = null;
      // Every face of the image against every face of the person: the closest pair decides.
      for (const [i, face] of faces.entries()) {
        for (const stored of personFaces) {
          const d = faceDistance(face.embedding, stored);
          if (distance === null || d < distance) [distance, faceIndex] = [d, i];
        }
      }
      const response: VerifyResponse = {
        personId,
        match: distance !== null && distance <= threshold,
        distance,
        threshold,
        faceIndex,
      };
      return response;
    },
  );

  // GET /v1/persons, GET and DELETE /v1/persons/:id (person-routes.ts).
  registerPersonReadRoutes(app, { index: current, onDeletePerson, ...options.persons });

  /** The person's face ids; a 404 when the index holds none. */
  const knownPersonFaces = (index: FaceIndex, personId: string): string[] => {
    const faces = index.personFaces(personId);
    if (faces.length === 0) throw new ApiError(404, 'NOT_FOUND', `person ${personId} is not in the index`);
    return faces;
  };

  return app;
}

/** A search of query `i` alone: an index error names it as the i-th query, as a search of all would. */
function oneQuery<T>(i: number, search: () => T): T {
  try {
    return search();
  } catch (err) {
    if (err instanceof FaceIndexError) throw new FaceIndexError(err.message.replace(/^query 0\b/, `query ${i}`));
    throw err;
  }
}

/**
 * An upload over the HTTP pixel cap is refused from its header alone (sharp reads the dimensions
 * without decoding), before the engine spends seconds and gigabytes on it. Bytes sharp cannot read
 * go on to the engine, whose error names what is wrong with them.
 */
async function refuseTooManyPixels(body: Buffer, maxPixels: number): Promise<void> {
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(body, { limitInputPixels: false }).metadata());
  } catch {
    return;
  }
  if (width !== undefined && height !== undefined && width * height > maxPixels) {
    throw new ApiError(
      400,
      'TOO_MANY_PIXELS',
      `too many pixels for an upload (${width}x${height} = ${width * height}, limit ${maxPixels}, FACEPIPE_HTTP_MAX_PIXELS)`,
    );
  }
}
