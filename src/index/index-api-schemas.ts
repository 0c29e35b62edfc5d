/**
 * The index service's HTTP API (index-http-server.ts, match-routes.ts, index-admin-routes.ts): one
 * zod schema per body, query, params and answer. The TypeScript types are inferred from them;
 * fastify validates requests and serializes answers with them (fastify-type-provider-zod), and
 * they are in the shape its jsonSchemaTransform turns into an OpenAPI document.
 *
 * No coercion: a JSON body must carry real numbers (null, "0.1" or true are refused in a vector).
 * Query-string integers arrive as strings: digit strings here, turned into numbers and checked
 * against their range, with the messages the API has always answered.
 */
import { personIdSchema } from '../gallery/person-id.js';
import { DECISION_OUTCOMES } from '../identification/identification-rule.js';
import { QUALITY_GATES } from '../identification/quality-gates.js';
import { z } from 'zod';
import { type ErrorCode, FACE_ERROR_CODES } from '../errors/error-codes.js';
import { parseIsoTime } from '../matches/parse-iso-time.js';
import { MAX_MATCHES_LIMIT } from '../matches/types.js';

export const MAX_QUERY_VECTORS = 256;
export const MAX_K = 100;
export const DEFAULT_K = 5;
export const DEFAULT_PERSONS_LIMIT = 100;
export const MAX_PERSONS_LIMIT = 1000;
/** Longest `search` of GET /v1/persons. */
export const MAX_SEARCH_LENGTH = 200;
/** Longest display name of a person. */
export const MAX_NAME_LENGTH = 200;
/** Default request-body limit of the image routes (identify, verify): 50 MB. */
export const DEFAULT_MAX_IMAGE_BYTES = 50 * 1024 * 1024;
/** Longest `name` query parameter (the image's name, used in error messages). */
export const MAX_IMAGE_NAME_LENGTH = 1024;

/** Error codes of the service's answers; the engine's refusals of a bad image keep their FaceError code. */
export const API_ERROR_CODES = [
  'BAD_REQUEST',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'CONFLICT',
  'MODEL_MISMATCH',
  'ENGINE_UNAVAILABLE',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'BUSY',
  'NOT_READY',
  'INTERNAL',
  ...FACE_ERROR_CODES,
] as const satisfies readonly ErrorCode[];

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Every error answer: `{ error: { code, message } }`. */
export const apiErrorBodySchema = z.object({
  error: z.object({ code: z.enum(API_ERROR_CODES), message: z.string() }),
});

export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;

/** The error answers of a route, next to its own: fastify picks the schema by status. */
export const errorResponses = { '4xx': apiErrorBodySchema, '5xx': apiErrorBodySchema } as const;

/** A query-string integer from `min` to `max`, written as at most 9 digits. */
export function queryInteger(min: number, max: number) {
  const range = `must be an integer from ${min} to ${max}`;
  return z
    .string()
    .regex(/^[0-9]{1,9}$/, { error: 'must be a non-negative integer' })
    .transform(Number)
    .pipe(z.number().min(min, { error: range }).max(max, { error: range }));
}

/** A query-string decimal number from `min` to `max` (e.g. 0.35, -0.1). */
export function queryNumber(min: number, max: number) {
  const range = `must be a number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^-?(?:[0-9]{1,9}(?:\.[0-9]{0,12})?|\.[0-9]{1,12})$/, { error: 'must be a decimal number, e.g. 0.35' })
    .transform(Number)
    .pipe(z.number().min(min, { error: range }).max(max, { error: range }));
}

/**
 * The 1:N rule's settings as query parameters of /v1/search and /v1/identify: each overrides the
 * service's own (flag, environment, calibrated deployment setting or the model card's) for this request.
 */
const ruleQuery = {
  /** Score threshold: a face is named when its score is at most this. */
  threshold: queryNumber(0, 2).optional(),
  /** How much the margin to the runners-up counts (0: the plain distance threshold). */
  marginWeight: queryNumber(0, 10).optional(),
};

/** Why a face was named or not (src/identification/identification-rule.ts). */
export const decisionSchema = z.object({
  /** The rule's score, d1 - marginWeight x margin (lower is more certain); null when the index is empty. */
  score: z.number().nullable(),
  /** Named when score <= threshold... */
  threshold: z.number(),
  marginWeight: z.number(),
  /** ...and the closest person's distance <= maxDistance (the model's 1:1 threshold). */
  maxDistance: z.number(),
  /** With quality gates (identify): named, unknown, or low-quality (a gate failed: not named). */
  outcome: z.enum(DECISION_OUTCOMES).optional(),
  /** The quality gates the detection failed (outcome low-quality). */
  failedGates: z.array(z.enum(QUALITY_GATES)).optional(),
});

/** The one person-id rule (gallery/person-id.ts), as for manifests and folders. */
const personId = () => personIdSchema;
const imageName = () => z.string().min(1).max(MAX_IMAGE_NAME_LENGTH);
const box = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
const point = z.tuple([z.number(), z.number()]);

// POST /v1/search

/** The vectors' dimension is checked by the route (to name the index's dim in the message), not here. */
export const searchBodySchema = z.object({
  vectors: z.array(z.array(z.number())).min(1).max(MAX_QUERY_VECTORS),
  k: z.int().min(1).max(MAX_K).optional(),
  /** k persons (each one's closest face) instead of k faces. */
  persons: z.boolean().optional(),
  /** EmbeddingModel.id of the vectors; refused with 409 MODEL_MISMATCH when the index holds another. */
  model: z.string().min(1).max(200).optional(),
});

export const searchQuerySchema = z.object(ruleQuery);

export const searchHitSchema = z.object({
  personId: z.string(),
  faceId: z.string(),
  /** Euclidean distance to the query vector. */
  distance: z.number(),
});

export const searchResponseSchema = z.object({
  /** One list per query vector, in query order; each ascending by distance. */
  results: z.array(z.array(searchHitSchema)),
  /**
   * With `persons`: one decision per query vector, made on the rule's own runners-up (never on the
   * list cut to k): the person named, or null, and why.
   */
  decisions: z.array(decisionSchema.extend({ personId: z.string().nullable() })).optional(),
});

export type SearchBody = z.infer<typeof searchBodySchema>;
export type SearchQuery = z.infer<typeof searchQuerySchema>;
export type DecisionJson = z.infer<typeof decisionSchema>;
export type SearchHit = z.infer<typeof searchHitSchema>;
export type SearchResponse = z.infer<typeof searchResponseSchema>;

// GET /healthz, GET /readyz

/** GET /healthz, and GET /readyz when ready (503 with status 'not_ready' otherwise). */
export const healthResponseSchema = z.object({ status: z.enum(['ok', 'not_ready']) });

export type HealthResponse = z.infer<typeof healthResponseSchema>;

// GET /v1/persons, GET and DELETE /v1/persons/:id

export const personsQuerySchema = z.object({
  limit: queryInteger(1, MAX_PERSONS_LIMIT).optional(),
  offset: queryInteger(0, Number.MAX_SAFE_INTEGER).optional(),
  /** Persons whose id or display name holds this, in any case. */
  search: z.string().max(MAX_SEARCH_LENGTH).optional(),
});

export const personsResponseSchema = z.object({
  /** Total persons in the index. */
  persons: z.int(),
  /** Total faces in the index. */
  faces: z.int(),
  /** Persons matching `search` (all of them without it): what the pages run over. */
  total: z.int().optional(),
  /** One page, sorted by personId. */
  items: z.array(
    z.object({
      personId: z.string(),
      faces: z.int(),
      /** Display name: as renamed, else as enrolled (manifest); absent when neither. */
      name: z.string().optional(),
      /** Their newest sighting (GET /v1/persons/:id/matches), ISO 8601; absent when never seen. */
      lastSeen: z.string().optional(),
    }),
  ),
});

export const personParamsSchema = z.object({ id: personId() });

/** A face id as the gallery makes them (gallery/face-id.ts; tests and imports use others of the same characters). */
export const faceIdSchema = z
  .string()
  .min(1, { error: 'a face id must not be empty' })
  .max(128, { error: 'a face id has at most 128 characters' })
  .regex(/^[A-Za-z0-9._@-]+$/, { error: 'a face id holds only letters, digits, ".", "_", "@" and "-"' });

export const personFaceParamsSchema = z.object({ id: personId(), faceId: faceIdSchema });

/** One enrolled face of a person, from the gallery record (without its embedding). */
export const enrolledFaceSchema = z.object({
  faceId: z.string(),
  /** The enrolled image: its key in the storage `source`. */
  sourceKey: z.string(),
  source: z.string(),
  box,
  /** Detector score. */
  score: z.number(),
  quality: z.object({ size: z.number(), blur: z.number(), pose: z.number() }).optional(),
  /** Why the photo looks like junk (enrollment-flags.ts); absent for a clean one. */
  flags: z.array(z.string()).optional(),
  /** When this record was written (enrollment, or its re-recording by a rename or merge). */
  enrolledAt: z.string(),
});

export const personResponseSchema = z.object({
  personId: z.string(),
  faces: z.array(z.string()),
  name: z.string().optional(),
  /** The gallery records of `faces`, oldest first (services with a person directory). */
  enrolled: z.array(enrolledFaceSchema).optional(),
});

/** PATCH /v1/persons/:id: the display name, kept with the person's gallery records. */
export const renamePersonBodySchema = z.object({
  name: z
    .string()
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(MAX_NAME_LENGTH, { error: `must NOT have more than ${MAX_NAME_LENGTH} characters` })
    // A name shows up in pages and logs: no line breaks or other control characters.
    .refine((name) => ![...name].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127), {
      error: 'must not hold control characters',
    }),
});

/** POST /v1/persons/:id/merge. */
export const mergePersonBodySchema = z.object({ into: personId() });

export const mergePersonResponseSchema = z.object({
  /** The person the faces now belong to (`into`). */
  personId: z.string(),
  /** Faces re-recorded under it. */
  moved: z.int(),
  /** Sightings re-filed under it. */
  sightings: z.int(),
});

/** POST /v1/persons/:id/faces: the uploads stored and queued for enrollment (202). */
export const addFacesResponseSchema = z.object({
  personId: z.string(),
  queued: z.array(z.object({ key: z.string(), jobId: z.string() })),
});

/** DELETE /v1/persons/:id/faces/:faceId. */
export const removeFaceResponseSchema = z.object({ personId: z.string(), faceId: z.string(), removed: z.int() });

export const deletePersonResponseSchema = z.object({ personId: z.string(), removed: z.int() });

export type PersonsResponse = z.infer<typeof personsResponseSchema>;
export type PersonResponse = z.infer<typeof personResponseSchema>;
export type DeletePersonResponse = z.infer<typeof deletePersonResponseSchema>;
export type EnrolledFace = z.infer<typeof enrolledFaceSchema>;
export type MergePersonResponse = z.infer<typeof mergePersonResponseSchema>;
export type AddFacesResponse = z.infer<typeof addFacesResponseSchema>;
export type RemoveFaceResponse = z.infer<typeof removeFaceResponseSchema>;

// POST /v1/identify

export const identifyQuerySchema = z.object({
  k: queryInteger(1, MAX_K).optional(),
  ...ruleQuery,
  /** Names the image in error messages (e.g. the client's file path). Default "image". */
  name: imageName().optional(),
});

export const identifyMatchSchema = z.object({
  personId: z.string(),
  /** The person's closest face. */
  faceId: z.string(),
  /** Euclidean distance between the probe face and that face. */
  distance: z.number(),
});

export const identifiedFaceSchema = z.object({
  box,
  score: z.number(),
  landmarks: z.array(point),
  /** Top-k persons, one entry each (their closest face), ascending by distance. */
  matches: z.array(identifyMatchSchema),
  /** The decision (src/identification/identification-rule.ts): a person, or null for "nobody in the gallery". */
  personId: z.string().nullable(),
  /** Why: the rule's score and what it was compared with; the same for every k. */
  decision: decisionSchema,
});

export const identifyResponseSchema = z.object({
  width: z.int(),
  height: z.int(),
  /** The threshold the decisions used. */
  threshold: z.number(),
  /** In the engine's detection order; empty when the image has no face. */
  faces: z.array(identifiedFaceSchema),
});

export type IdentifyMatch = z.infer<typeof identifyMatchSchema>;
export type IdentifiedFace = z.infer<typeof identifiedFaceSchema>;
export type IdentifyResponse = z.infer<typeof identifyResponseSchema>;

// POST /v1/verify

export const verifyQuerySchema = z.object({
  personId: personId(),
  /** Names the image in error messages. Default "image". */
  name: imageName().optional(),
});

export const verifyResponseSchema = z.object({
  personId: z.string(),
  /** distance <= threshold; false when the image has no face. */
  match: z.boolean(),
  /** The smallest distance between a face of the image and a face of the person; null without a face. */
  distance: z.number().nullable(),
  threshold: z.number(),
  /** Which face of the image (engine detection order) was closest; null without a face. */
  faceIndex: z.int().nullable(),
});

export type VerifyResponse = z.infer<typeof verifyResponseSchema>;

// GET /v1/persons/:id/matches (its answer is src/matches' matchPageSchema)

/** An ISO 8601 date, or date-time with a zone, as a Date (parseIsoTime). */
const isoTime = () =>
  z
    .string()
    .min(1)
    .max(64)
    .transform((value, ctx) => {
      const date = parseIsoTime(value);
      if (date) return date;
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `must be an ISO 8601 date or date-time with a zone (e.g. 2026-11-28 or 2026-11-28T02:15:00Z), got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    })
    .describe('an ISO 8601 date, or date-time with a zone');

export const matchesQuerySchema = z
  .object({
    /** Sightings at or after this time. */
    since: isoTime().optional(),
    /** Sightings strictly before this time. */
    until: isoTime().optional(),
    limit: queryInteger(1, MAX_MATCHES_LIMIT).optional(),
    offset: queryInteger(0, Number.MAX_SAFE_INTEGER).optional(),
    /** Sightings by this camera alone (a sighting's `camera`). */
    camera: z.string().min(1).max(256).optional().describe("a camera: the result's input.camera"),
  })
  .refine(({ since, until }) => !(since && until && since.getTime() > until.getTime()), {
    path: ['since'],
    error: 'must not be after until',
  });

// GET /v1/index, POST /v1/index/rebuild

/** A rebuild's body; an empty (null) body keeps the service's parameters. */
export const rebuildBodySchema = z
  .object(
    {
      m: z.int().min(2).max(128).optional(),
      efConstruction: z.int().min(10).max(2000).optional(),
    },
    // Worded as the JSON Schema type of the body, object or null.
    { error: (issue) => (issue.code === 'invalid_type' ? 'must be object,null' : undefined) },
  )
  .nullable();

/** Keys in the order IndexService fills them in, so answers keep the key order they always had. */
export const rebuildStatusSchema = z.object({
  state: z.enum(['idle', 'running', 'done', 'failed']),
  startedAt: z.string().optional(),
  m: z.int().optional(),
  efConstruction: z.int().optional(),
  faces: z.int().optional(),
  error: z.string().optional(),
  finishedAt: z.string().optional(),
});

export const indexStatusSchema = z.object({
  /** The embedding model (and adapter) of every vector in the index. */
  model: z.string(),
  ready: z.boolean(),
  faces: z.int(),
  persons: z.int(),
  m: z.int(),
  efConstruction: z.int(),
  ef: z.int(),
  /** Last change-log entry applied. */
  changePosition: z.string(),
  /** How the index was loaded at start: a snapshot (its name) or a build from the gallery. */
  loadedFrom: z.string(),
  lastSnapshot: z.string().optional(),
  rebuild: rebuildStatusSchema,
  /** The index is loaded (searches are answered); `ready` also needs the change log followed. */
  loaded: z.boolean().optional(),
  /**
   * What start-up loaded: the newest snapshot, a previous one (newer ones damaged or half-written),
   * or the gallery; with each snapshot passed over and why.
   */
  recovery: z
    .object({
      from: z.enum(['empty', 'snapshot', 'previous snapshot', 'gallery', 'gallery after damaged snapshots']),
      skipped: z.array(z.object({ name: z.string(), reason: z.string() })),
    })
    .optional(),
  /** Gallery objects that did not parse, moved to the gallery's quarantine/ folder. */
  quarantined: z.int().optional(),
  /** Deletions: whether one is still being erased, and the last one erased (when, its snapshot, records). */
  erasure: z
    .object({
      pending: z.boolean(),
      at: z.string().optional(),
      snapshot: z.string().optional(),
      records: z.int().optional(),
    })
    .optional(),
  /** Why following the change log fails right now (the service is then not ready). */
  error: z.string().optional(),
});

export type RebuildStatus = z.infer<typeof rebuildStatusSchema>;
export type IndexServiceStatus = z.infer<typeof indexStatusSchema>;
