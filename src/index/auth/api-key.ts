import { createHash, randomBytes } from 'node:crypto';

/** The roles of API keys, weakest first: a route needs its role or a stronger one. */
export const API_ROLES = ['read', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** What a route declares in its fastify config: 'public' needs no key. */
export type RouteRole = 'public' | ApiRole;

/** A stored key: never the key itself, only its SHA-256. */
export interface ApiKeyRecord {
  id: string;
  role: ApiRole;
  /** Lower-case hex SHA-256 of the key. */
  sha256: string;
  /** ISO time of creation ('' for keys from the environment). */
  created: string;
  /** Where it comes from: the deployment's Redis, or FACEPIPE_API_KEYS. */
  source: 'redis' | 'env';
}

const ROLE_RANK: Record<RouteRole, number> = { public: 0, read: 1, admin: 2 };

/** Whether a key of `role` may call a route that declares `required`. */
export function roleAllows(role: ApiRole, required: RouteRole): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[required];
}

export function isApiRole(value: string): value is ApiRole {
  return (API_ROLES as readonly string[]).includes(value);
}

/**
 * SHA-256, not scrypt or bcrypt: a key is 32 random bytes (256 bits), so no dictionary or brute
 * force can invert its hash, and a slow hash would only cost CPU on every request (a denial of
 * service lever) without adding safety. Slow hashes protect low-entropy secrets like passwords.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new key: "fpk_" + 32 random bytes in base64url (43 characters), and a short random id to revoke it by. */
export function generateApiKey(): { id: string; key: string } {
  return { id: randomBytes(6).toString('hex'), key: `fpk_${randomBytes(32).toString('base64url')}` };
}

/** The key a request carries: `Authorization: Bearer <key>`, else `x-api-key`. Never a cookie. */
export function keyFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const header = headers['x-api-key'];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  return undefined;
}
