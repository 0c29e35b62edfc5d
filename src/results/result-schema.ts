/**
 * The identification result of one input image: `facepipe/results/<run>/<input key>.json`
 * (DESIGN.md, "Result JSON"; schema id facepipe.result/v1). This zod schema is its one definition:
 * the types in result-types.ts are inferred from it, and schemas/result.schema.json is generated
 * from it (`npm run schemas`, see result-json-schema.ts).
 * Users' scripts rely on this shape: change it only on purpose, with a new schema id.
 */
import { z } from 'zod';
import { RESULT_ERROR_CODES } from '../errors/error-codes.js';
import { DECISION_OUTCOMES } from '../identification/identification-rule.js';
import { QUALITY_GATES } from '../identification/quality-gates.js';
import { CAPTURE_SOURCES } from './capture-time.js';

export const RESULT_SCHEMA_ID = 'facepipe.result/v1';

/**
 * The JSON Schema metadata of the result file (an `id` names a `$defs` entry). A registry of its
 * own rather than zod's global one: no other schema's ids can collide with 'face' or 'point'.
 */
export const resultSchemaMetadata = z.registry<{ id?: string; title?: string; description?: string }>();

/** ISO 8601 date-time with `Z` or an offset. */
const dateTime = () => z.iso.datetime({ offset: true });

/** 0 .. 1. */
const unit = () => z.number().min(0).max(1);

const point = z.tuple([z.number(), z.number()]).register(resultSchemaMetadata, { id: 'point' });

export const resultMatchSchema = z.strictObject({
  personId: z.string().min(1),
  faceId: z.string().min(1),
  /** Euclidean distance between the probe face's and the gallery face's embeddings. */
  distance: z.number().min(0),
});

export const resultFaceSchema = z
  .strictObject({
    box: z.strictObject({
      x: z.number(),
      y: z.number(),
      width: z.number().positive(),
      height: z.number().positive(),
    }),
    score: unit(),
    /** Five points: eye centres (subject's right, then left in image order), nose tip, mouth corners. */
    landmarks: z.array(point).length(5),
    quality: z.strictObject({
      /** Shorter side of the face box, px. */
      size: z.number().min(0),
      /** 0 sharp .. 1 very blurred. */
      blur: unit(),
      /** 0 frontal .. 1 profile (from the landmarks' asymmetry). */
      pose: unit(),
    }),
    /** Closest gallery persons, one entry per person, ascending distance. */
    matches: z.array(resultMatchSchema),
    /** The decision: the identified person, or null for nobody in the gallery. */
    personId: z.string().nullable(),
    /**
     * Why (an addition to DESIGN.md's format; older results lack it): the 1:N rule's score and what
     * it was compared with. Named when score <= threshold and the closest distance <= maxDistance.
     */
    decision: z
      .strictObject({
        score: z.number().nullable(),
        threshold: z.number(),
        marginWeight: z.number().min(0),
        maxDistance: z.number().min(0),
        /** Additive (issue 22): named, unknown, or low-quality (a quality gate failed: not named). */
        outcome: z.enum(DECISION_OUTCOMES).optional().register(resultSchemaMetadata, {
          description:
            'named; unknown (the rule named nobody); low-quality (the detection failed a quality gate and was not named, see failedGates)',
        }),
        /** Additive (issue 22): the quality gates the detection failed. */
        failedGates: z.array(z.enum(QUALITY_GATES)).optional().register(resultSchemaMetadata, {
          description:
            "the quality gates the detection failed: detectorScore (the detector's score under the minimum), size, blur, pose",
        }),
      })
      .optional()
      .register(resultSchemaMetadata, {
        description:
          "the 1:N rule's score (d1 - marginWeight x margin to the runners-up; null for an empty gallery) and what it was compared with: named when score <= threshold and the closest person's distance <= maxDistance (the model's 1:1 threshold)",
      }),
  })
  .register(resultSchemaMetadata, { id: 'face' });

export const resultSchema = z
  .strictObject({
    schema: z.literal(RESULT_SCHEMA_ID),
    input: z.strictObject({
      key: z
        .string()
        .min(1)
        .register(resultSchemaMetadata, { description: "the image's key relative to the source that was identified" }),
      etag: z.string(),
      width: z.int().min(0),
      height: z.int().min(0),
      /**
       * The snapshot object's last-modified time, for CCTV uploads about when it was taken; "when
       * was the person seen" comes from it. An addition to DESIGN.md's format (older results lack it).
       */
      modified: dateTime()
        .optional()
        .register(resultSchemaMetadata, { description: "the image object's last-modified time" }),
      /**
       * When the image was taken (capture-time.ts): EXIF DateTimeOriginal, else the time its key
       * holds (FACEPIPE_CAPTURE_KEY_PATTERN), else `modified`; with the camera clock's offset.
       * "When was the person seen" comes from it. Additive: older results lack it.
       */
      captured: dateTime().optional().register(resultSchemaMetadata, {
        description: 'when the image was taken: EXIF, else its key, else last-modified (see capturedFrom)',
      }),
      capturedFrom: z
        .enum(CAPTURE_SOURCES)
        .optional()
        .register(resultSchemaMetadata, { description: 'where `captured` comes from: exif, key or modified' }),
      /** The camera: the key pattern's {camera}, else the key's parent folder. Additive. */
      camera: z.string().min(1).optional().register(resultSchemaMetadata, {
        description: "the camera: the key pattern's {camera}, else the key's parent folder name",
      }),
    }),
    model: z.strictObject({
      id: z.string().min(1),
      detector: z.string(),
      embedder: z.string(),
      threshold: z.number().min(0),
      /** Additive: older results lack it. */
      backend: z.string().min(1).optional().register(resultSchemaMetadata, {
        description: 'what ran the networks, e.g. "onnx (onnxruntime-node 1.31.1) + wasm" or "wasm"',
      }),
    }),
    processedAt: dateTime(),
    faces: z.array(resultFaceSchema),
    /** Why the image has no faces listed: a refused input or a transient outage. */
    error: z.strictObject({ code: z.enum(RESULT_ERROR_CODES), message: z.string() }).nullable(),
  })
  .register(resultSchemaMetadata, {
    title: RESULT_SCHEMA_ID,
    description: 'The identification result of one input image: facepipe/results/<run>/<input key>.json',
  });

/** A value that is not a facepipe.result/v1 result (the message lists what is wrong, by field). */
export class ResultFormatError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'ResultFormatError';
  }
}

/** `value` as a facepipe.result/v1 result; throws a ResultFormatError naming each bad field. */
export function parseResult(value: unknown): z.output<typeof resultSchema> {
  const parsed = resultSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`,
  );
  throw new ResultFormatError(`not a ${RESULT_SCHEMA_ID} result: ${problems.join('; ')}`);
}

/** A result file's bytes (UTF-8 JSON) as a facepipe.result/v1 result; throws on bad JSON or a bad result. */
export function parseResultFile(bytes: Uint8Array): z.output<typeof resultSchema> {
  return parseResult(JSON.parse(Buffer.from(bytes).toString('utf8')));
}
