import { type ApiKeyRecord, API_ROLES, isApiRole } from './api-key.js';

/** The environment variable of keys for deployments whose service cannot write to Redis. */
export const API_KEYS_ENV = 'FACEPIPE_API_KEYS';

/**
 * Keys from FACEPIPE_API_KEYS: comma-separated `<role>:<sha256 hex>` (the sha256 that
 * `facepipe keys create --json` prints, or `printf %s "$KEY" | sha256sum`). Throws naming the
 * variable and the bad entry; an empty or unset variable is no keys.
 */
export function parseEnvApiKeys(value: string | undefined): ApiKeyRecord[] {
  if (value === undefined || value.trim() === '') return [];
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry, i) => {
      const [role, sha256, ...rest] = entry.split(':');
      if (rest.length > 0 || !isApiRole(role) || !/^[0-9a-fA-F]{64}$/.test(sha256 ?? '')) {
        throw new Error(
          `invalid ${API_KEYS_ENV} entry ${i + 1}: expected <role>:<sha256 hex of the key> with role ${API_ROLES.join(' or ')}, got "${entry.slice(0, 12)}..."`,
        );
      }
      const hash = sha256.toLowerCase();
      return { id: `env-${hash.slice(0, 8)}`, role, sha256: hash, created: '', source: 'env' as const };
    });
}
