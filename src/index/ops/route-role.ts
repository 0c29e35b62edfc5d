import type { FastifyInstance } from 'fastify';
import type { RouteRole } from '../auth/api-key.js';

/**
 * Gives every route declared in `scope` (an encapsulated plugin) the role `role`: for routes a
 * library declares (bull-board, swagger-ui), whose options we do not write ourselves. The role
 * itself and the hook that enforces it live in ../auth.
 */
export function assignRouteRole(scope: FastifyInstance, role: RouteRole): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), role };
  });
}
