/**
 * The console's own routes (runs, images): zod schemas of their queries and answers, the types
 * inferred from them. Same conventions as index-api-schemas.ts (no coercion, digit strings).
 */
import { z } from 'zod';
import { queryInteger } from '../index-api-schemas.js';

/** A run id as identify-run.ts makes and accepts them. */
export const runParamsSchema = z.object({
  run: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, { error: "a run id is 1-128 letters, digits, '.', '_', '-'" }),
});

export const faceParamsSchema = z.object({
  faceId: z.string().regex(/^f[0-9a-f]{8,64}$/, { error: 'a face id is "f" and hex digits' }),
});

export const MAX_THUMBNAIL_SIZE = 256;
export const DEFAULT_THUMBNAIL_SIZE = 128;
export const MAX_SNAPSHOT_SIDE = 1920;
export const DEFAULT_SNAPSHOT_SIDE = 1280;

export const thumbnailQuerySchema = z.object({
  /** Width and height of the square thumbnail, px. */
  size: queryInteger(16, MAX_THUMBNAIL_SIZE).optional(),
});

export const snapshotImageQuerySchema = z.object({
  /** The snapshot's key, as its result file names it (`input.key`). */
  key: z.string().min(1).max(1024),
  /** A face of the result (its position in `faces`): its crop instead of the whole snapshot. */
  face: queryInteger(0, 10_000).optional(),
  /** The longest side of the snapshot, or the side of the crop's square, px. */
  size: queryInteger(16, MAX_SNAPSHOT_SIDE).optional(),
});

export const RUN_FILTERS = ['all', 'named', 'unknown', 'errors'] as const;

export const runQuerySchema = z.object({
  /** Snapshots with a named face, with an unknown face, or whose result is an error. */
  filter: z.enum(RUN_FILTERS).optional(),
  limit: queryInteger(1, 500).optional(),
  offset: queryInteger(0, Number.MAX_SAFE_INTEGER).optional(),
});

export const runsQuerySchema = z.object({
  limit: queryInteger(1, 200).optional(),
  offset: queryInteger(0, Number.MAX_SAFE_INTEGER).optional(),
});

const boxSchema = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });

export const runCountsSchema = z.object({
  /** Result files written so far. */
  results: z.int(),
  faces: z.int(),
  named: z.int(),
  unknown: z.int(),
  /** Results with an error (the snapshot could not be processed). */
  errors: z.int(),
});

export const runSummarySchema = z.object({
  run: z.string(),
  /** The source storage's URL. */
  source: z.string(),
  createdAt: z.string(),
  completedAt: z.string().optional(),
  /** Snapshots the run planned. */
  snapshots: z.int(),
  counts: runCountsSchema,
});

export const runsResponseSchema = z.object({
  total: z.int(),
  items: z.array(runSummarySchema),
});

export const snapshotFaceSchema = z.object({
  box: boxSchema,
  score: z.number().optional(),
  personId: z.string().nullable(),
  /** The rule's outcome (named, unknown, low-quality) when the result records it. */
  outcome: z.string().optional(),
  /** The rule's score and threshold (named when score <= threshold), when the result records them. */
  decision: z.object({ score: z.number().nullable(), threshold: z.number() }).optional(),
  /** The face's top candidates, closest first. */
  matches: z.array(z.object({ personId: z.string(), distance: z.number() })),
});

export const runSnapshotSchema = z.object({
  key: z.string(),
  resultKey: z.string(),
  width: z.number().optional(),
  height: z.number().optional(),
  /** When the snapshot was taken, as its result says. */
  captured: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  faces: z.array(snapshotFaceSchema),
});

export const runResponseSchema = runSummarySchema.extend({
  filter: z.enum(RUN_FILTERS),
  /** Snapshots that pass the filter (all pages). */
  total: z.int(),
  items: z.array(runSnapshotSchema),
});

export type RunCounts = z.infer<typeof runCountsSchema>;
export type RunSummary = z.infer<typeof runSummarySchema>;
export type RunsResponse = z.infer<typeof runsResponseSchema>;
export type RunSnapshot = z.infer<typeof runSnapshotSchema>;
export type RunResponse = z.infer<typeof runResponseSchema>;
export type RunFilter = (typeof RUN_FILTERS)[number];
