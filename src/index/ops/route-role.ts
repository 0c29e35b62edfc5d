import type { FastifyInstance } from 'fastify';

/**
 * Who may call a route (issue 20, "Keys"): every route declares `config: { role }`; a route with
 * none is treated as admin by the auth hook.
 */
export type RouteRole = 'public' | 'read' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    role?: RouteRole;
  }
}

/**
 * Gives every route declared in `scope` (an encapsulated plugin) the role `role`: for routes a
 * library declares (bull-board, swagger-ui), whose options we do not write ourselves.
 */
export function assignRouteRole(scope: FastifyInstance, role: RouteRole): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), role };
  });
}
