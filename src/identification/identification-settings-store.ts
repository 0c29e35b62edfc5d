/**
 * The deployment's 1:N rule, as `facepipe calibrate --apply` stores it: one JSON object per
 * embedding model at `facepipe/settings/<model>/identification.json` in the deployment's storage,
 * next to the gallery it was calibrated on (FPIR grows with the gallery, so the threshold belongs to
 * it). Workers and the index service read it at start and when it changes (live-identification-rule.ts).
 */
import { z } from 'zod';
import { keySegment } from '../storage/key-segment.js';
import { StorageNotFoundError } from '../storage/storage-not-found-error.js';
import type { Storage } from '../storage/storage.js';

export const IDENTIFICATION_SETTINGS_SCHEMA_ID = 'facepipe.identification/v1';
export const DEFAULT_SETTINGS_ROOT = 'facepipe/settings';

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

export class IdentificationSettingsStore {
  readonly key: string;

  constructor(
    private readonly storage: Storage,
    readonly model: string,
    root = DEFAULT_SETTINGS_ROOT,
  ) {
    this.key = `${root.replace(/\/+$/, '')}/${keySegment(model)}/identification.json`;
  }

  /** The stored settings, or null when none were applied; throws naming the key when they are not valid. */
  async read(): Promise<IdentificationSettings | null> {
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
    const parsed = identificationSettingsSchema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new Error(`${this.key}: not ${IDENTIFICATION_SETTINGS_SCHEMA_ID} settings: ${problems.join('; ')}`);
    }
    return parsed.data;
  }

  /** The etag of the stored object, or null: lets a watcher poll cheaply. */
  async version(): Promise<string | null> {
    return (await this.storage.head(this.key))?.etag ?? null;
  }

  async write(settings: IdentificationSettings): Promise<void> {
    const valid = identificationSettingsSchema.parse(settings);
    await this.storage.put(this.key, `${JSON.stringify(valid, null, 2)}\n`, { contentType: 'application/json' });
  }
}
