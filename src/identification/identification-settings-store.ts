/**
 * The deployment's 1:N rule, as `facepipe calibrate --apply` stores it: one JSON object per
 * embedding model at `facepipe/settings/<model>/identification.json` in the deployment's storage,
 * next to the gallery it was calibrated on (FPIR grows with the gallery, so the threshold belongs to
 * it). Workers and the index service read it at start and when it changes (live-identification-rule.ts).
 */
import { z } from 'zod';
import type { Storage } from '../storage/storage.js';
import { DEFAULT_SETTINGS_ROOT, SettingsFile } from './settings-file.js';

export const IDENTIFICATION_SETTINGS_SCHEMA_ID = 'facepipe.identification/v1';

export const identificationSettingsSchema = z.object({
  schema: z.literal(IDENTIFICATION_SETTINGS_SCHEMA_ID),
  /** Score threshold of the rule. */
  threshold: z.number().min(0).max(2),
  /** The margin weight the threshold was calibrated with (a threshold means nothing without it). */
  marginWeight: z.number().min(0).max(10),
  /** How it was chosen, for the operator reading it later. */
  calibration: z
    .object({
      targetFpir: z.number(),
      fpir: z.number(),
      strangers: z.int(),
      tpir: z.number().nullable(),
      mated: z.int(),
      galleryPersons: z.int(),
      calibratedAt: z.string(),
    })
    .optional(),
});

export type IdentificationSettings = z.infer<typeof identificationSettingsSchema>;

/** The deployment's 1:N rule of one model (`identification.json`). */
export class IdentificationSettingsStore extends SettingsFile<typeof identificationSettingsSchema> {
  constructor(storage: Storage, model: string, root = DEFAULT_SETTINGS_ROOT) {
    super(
      storage,
      model,
      'identification.json',
      identificationSettingsSchema,
      `${IDENTIFICATION_SETTINGS_SCHEMA_ID} settings`,
      root,
    );
  }
}
