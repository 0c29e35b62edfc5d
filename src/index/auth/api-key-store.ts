import type { Redis } from 'ioredis';
import { z } from 'zod';
import { API_ROLES, type ApiKeyRecord, type ApiRole, generateApiKey, hashApiKey } from './api-key.js';

const storedKeySchema = z.object({
  role: z.enum(API_ROLES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  created: z.string(),
});

/**
 * The deployment's API keys in one Redis hash (apiKeysKey in queue-names.ts): field = key id,
 * value = JSON { role, sha256, created }. Only hashes are stored; the key is shown once, at creation.
 */
export class ApiKeyStore {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  /** A new key of `role`: stores its hash and returns the key (the only time it exists in clear). */
  async create(role: ApiRole, now: Date = new Date()): Promise<{ key: string; record: ApiKeyRecord }> {
    const { id, key } = generateApiKey();
    const record: ApiKeyRecord = { id, role, sha256: hashApiKey(key), created: now.toISOString(), source: 'redis' };
    await this.redis.hset(
      this.key,
      id,
      JSON.stringify({ role: record.role, sha256: record.sha256, created: record.created }),
    );
    return { key, record };
  }

  /** Every stored key, oldest first; an entry that does not parse is skipped (never grants access). */
  async list(): Promise<ApiKeyRecord[]> {
    const all = await this.redis.hgetall(this.key);
    const records: ApiKeyRecord[] = [];
    for (const [id, value] of Object.entries(all)) {
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        continue;
      }
      const parsed = storedKeySchema.safeParse(json);
      if (parsed.success) records.push({ id, ...parsed.data, source: 'redis' });
    }
    return records.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  /** Removes a key; false when there was no key with that id. */
  async revoke(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, id)) === 1;
  }
}
