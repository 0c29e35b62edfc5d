import type { z } from 'zod';
import { keySegment } from '../storage/key-segment.js';
import { StorageNotFoundError } from '../storage/storage-not-found-error.js';
import type { Storage } from '../storage/storage.js';

export const DEFAULT_SETTINGS_ROOT = 'facepipe/settings';

/**
 * One JSON settings object of an embedding model at `<root>/<model>/<file>` in the deployment's
 * storage, validated by its zod schema on read and write. The identification rule and the cohort
 * offsets are such files; workers and the index service poll `version()` to follow changes.
 */
export class SettingsFile<Schema extends z.ZodType> {
  readonly key: string;

  constructor(
    private readonly storage: Storage,
    readonly model: string,
    file: string,
    private readonly schema: Schema,
    /** What the object is, for error messages: e.g. "facepipe.identification/v1 settings". */
    private readonly what: string,
    root = DEFAULT_SETTINGS_ROOT,
  ) {
    this.key = `${root.replace(/\/+$/, '')}/${keySegment(model)}/${file}`;
  }

  /** The stored object, or null when none was written; throws naming the key when it is not valid. */
  async read(): Promise<z.infer<Schema> | null> {
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
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new Error(`${this.key}: not ${this.what}: ${problems.join('; ')}`);
    }
    return parsed.data;
  }

  /** The etag of the stored object, or null: lets a watcher poll cheaply. */
  async version(): Promise<string | null> {
    return (await this.storage.head(this.key))?.etag ?? null;
  }

  async write(value: z.infer<Schema>): Promise<void> {
    const valid = this.schema.parse(value);
    await this.storage.put(this.key, `${JSON.stringify(valid, null, 2)}\n`, { contentType: 'application/json' });
  }
}
