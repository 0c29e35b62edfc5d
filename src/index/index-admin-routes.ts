import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, indexStatusSchema, rebuildBodySchema } from './index-api-schemas.js';
import { ApiError } from './index-http-server.js';
import type { IndexService } from './index-service.js';

/**
 * Routes about the index itself (not in buildIndexServer, which serves any FaceIndex):
 *   GET  /v1/index          -> IndexServiceStatus (faces, persons, HNSW parameters, log position, rebuild)
 *   POST /v1/index/rebuild  { m?, efConstruction? } -> 202 status | 409 CONFLICT while one runs
 * The app must be buildIndexServer's (its zod validator and serializer compile these schemas).
 */
export function registerIndexAdminRoutes(app: FastifyInstance, service: IndexService): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get(
    '/v1/index',
    { config: { role: 'read' }, schema: { response: { 200: indexStatusSchema, ...errorResponses } } },
    async () => service.status(),
  );

  const rebuildSchema = { body: rebuildBodySchema, response: { 202: indexStatusSchema, ...errorResponses } };
  routes.post('/v1/index/rebuild', { config: { role: 'admin' }, schema: rebuildSchema }, async (request, reply) => {
    if (!service.startRebuild(request.body ?? {})) throw new ApiError(409, 'CONFLICT', 'a rebuild is already running');
    return reply.status(202).send(service.status());
  });
}
