/**
 * The per-person offsets of cohort normalisation (cohort-normalisation.ts), as `facepipe gallery
 * hubs --apply` stores them: one JSON object per embedding model at
 * `facepipe/settings/<model>/cohort-offsets.json`, next to the identification rule (the offsets
 * belong to the gallery they were computed on, like the threshold). Workers and the index service
 * read it at start and when it changes (live-identification-rule.ts); a person enrolled after it
 * was computed has no offset until the command is run again.
 */
import { z } from 'zod';
import { keySegment } from '../storage/key-segment.js';
import { StorageNotFoundError } from '../storage/storage-not-found-error.js';
import type { Storage } from '../storage/storage.js';
import { DEFAULT_SETTINGS_ROOT } from './identification-settings-store.js';

export const COHORT_OFFSETS_SCHEMA_ID = 'facepipe.cohort-offsets/v1';

export const cohortOffsetsSchema = z.object({
  schema: z.literal(COHORT_OFFSETS_SCHEMA_ID),
  /** personId -> the distance added to every distance to that person (> 0; absent: 0). */
  offsets: z.record(z.string(), z.number().min(0).max(2)),
  /** How they were computed, for the operator reading them later. */
  cohort: z.object({
    faces: z.int().min(0),
    source: z.string(),
    galleryPersons: z.int().min(0),
    nearest: z.int().min(1),
    computedAt: z.string(),
  }),
});

export type CohortOffsets = z.infer<typeof cohortOffsetsSchema>;

export class CohortOffsetsStore {
  readonly key: string;

  constructor(
    private readonly storage: Storage,
    readonly model: string,
    root = DEFAULT_SETTINGS_ROOT,
  ) {
    this.key = `${root.replace(/\/+$/, '')}/${keySegment(model)}/cohort-offsets.json`;
  }

  /** The stored offsets, or null when none were applied; throws naming the key when they are not valid. */
  async read(): Promise<CohortOffsets | null> {
    let bytes: Uint8Array;
    try {
      bytes = await this.storage.get(this.key);
    } catch (err) {
      if (err instanceof StorageNotFoundError) return null;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (err) {
      throw new Error(`${this.key}: not JSON (${(err as Error).message})`);
    }
    const parsed = cohortOffsetsSchema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new Error(`${this.key}: not ${COHORT_OFFSETS_SCHEMA_ID} offsets: ${problems.join('; ')}`);
    }
    return parsed.data;
  }

  /** The etag of the stored object, or null: lets a watcher poll cheaply. */
  async version(): Promise<string | null> {
    return (await this.storage.head(this.key))?.etag ?? null;
  }

  async write(offsets: CohortOffsets): Promise<void> {
    const valid = cohortOffsetsSchema.parse(offsets);
    await this.storage.put(this.key, `${JSON.stringify(valid)}\n`, { contentType: 'application/json' });
  }
}
