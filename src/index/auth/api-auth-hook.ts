import type { FastifyInstance } from 'fastify';
import { type ApiKeyRecord, type RouteRole, keyFromHeaders, roleAllows } from './api-key.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Who may call the route: 'public' (no key), 'read' or 'admin'. A route that declares none
     * needs 'admin' (deny by default), so a route added without thought is never open.
     */
    role?: RouteRole;
  }
}

/** What the hook asks of the keys (ApiKeyRing). */
export interface ApiKeyVerifier {
  readonly size: number;
  verify(key: string): ApiKeyRecord | undefined;
}

export interface ApiAuthOptions {
  keys: ApiKeyVerifier;
  /**
   * Serve without keys while none is configured (a service on a loopback address only; `serve`
   * refuses other addresses without keys). As soon as one key exists, every route needs one.
   */
  openWhileNoKeys: boolean;
}

/**
 * Installs the API-key check as an onRequest hook: before the body is read, so an unauthenticated
 * caller cannot make the service receive or decode an upload. 401 UNAUTHORIZED without a key or
 * with an unknown one, 403 FORBIDDEN with a key whose role is too low. Unknown routes fall through
 * to their 404 (which reveals nothing).
 */
export function installApiAuth(app: FastifyInstance, options: ApiAuthOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return;
    const required: RouteRole = request.routeOptions.config?.role ?? 'admin';
    if (required === 'public') return;
    if (options.openWhileNoKeys && options.keys.size === 0) return;
    const deny = (status: 401 | 403, code: 'UNAUTHORIZED' | 'FORBIDDEN', message: string) => {
      if (status === 401) reply.header('www-authenticate', 'Bearer');
      return reply.status(status).send({ error: { code, message } });
    };
    const key = keyFromHeaders(request.headers);
    if (key === undefined) {
      return deny(
        401,
        'UNAUTHORIZED',
        'an API key is required: send "Authorization: Bearer <key>" or "x-api-key: <key>"',
      );
    }
    const record = options.keys.verify(key);
    if (record === undefined) return deny(401, 'UNAUTHORIZED', 'unknown or revoked API key');
    if (!roleAllows(record.role, required)) {
      return deny(
        403,
        'FORBIDDEN',
        `this route needs a key with the ${required} role; key ${record.id} has ${record.role}`,
      );
    }
  });
}
