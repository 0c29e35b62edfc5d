/**
 * The sightings' wire format (the body of GET /v1/persons/:id/matches): zod schemas, from which
 * the types in types.ts are inferred and with which the route's answer is serialized.
 */
import { z } from 'zod';

/** Where a sighting's time comes from: the result's capturedFrom, else modified, else processed (processedAt). */
export const SEEN_FROM = ['exif', 'key', 'modified', 'processed'] as const;

/** One identified face: a sighting of its person. */
export const matchRecordSchema = z.object({
  personId: z.string(),
  /** The run the result belongs to (first path segment after the results prefix). */
  run: z.string(),
  /** The snapshot's key (the result's `input.key`). */
  key: z.string(),
  /** The result file's storage key, e.g. `facepipe/results/<run>/<input key>.json`. */
  resultKey: z.string(),
  /** The face's position in the result's `faces`. */
  faceIndex: z.int().min(0),
  box: z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }),
  /** The distance of the face's match with the person; null if the result lists no such match. */
  distance: z.number().nullable(),
  /**
   * ISO 8601 (UTC): when the person was seen: when the snapshot was taken (the result's
   * `input.captured`), else its last-modified time, else the result's processedAt.
   */
  seenAt: z.string(),
  /** Where seenAt comes from (absent in sightings recorded before it existed). */
  seenFrom: z.enum(SEEN_FROM).optional(),
  /** The camera: the result's `input.camera`, else the key's parent folder (absent without one). */
  camera: z.string().optional(),
});

/** A page of one person's sightings, newest first. */
export const matchPageSchema = z.object({
  personId: z.string(),
  /** Sightings of the person within since/until (all pages). */
  total: z.int().min(0),
  items: z.array(matchRecordSchema),
});
