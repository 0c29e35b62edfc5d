/**
 * The per-person offsets of cohort normalisation (cohort-normalisation.ts), as `facepipe gallery
 * hubs --apply` stores them: one JSON object per embedding model at
 * `facepipe/settings/<model>/cohort-offsets.json`, next to the identification rule (the offsets
 * belong to the gallery they were computed on, like the threshold). Workers and the index service
 * read it at start and when it changes (live-identification-rule.ts); a person enrolled after it
 * was computed has no offset until the command is run again.
 */
import { z } from 'zod';
import type { Storage } from '../storage/storage.js';
import { DEFAULT_SETTINGS_ROOT, SettingsFile } from './settings-file.js';

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

/** The per-person offsets of one model's gallery (`cohort-offsets.json`). */
export class CohortOffsetsStore extends SettingsFile<typeof cohortOffsetsSchema> {
  constructor(storage: Storage, model: string, root = DEFAULT_SETTINGS_ROOT) {
    super(storage, model, 'cohort-offsets.json', cohortOffsetsSchema, `${COHORT_OFFSETS_SCHEMA_ID} offsets`, root);
  }
}
