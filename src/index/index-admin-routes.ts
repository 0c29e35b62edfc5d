import type { FastifyInstance } from 'fastify';
import { ApiError } from './index-http-server.js';
import type { IndexService } from './index-service.js';

interface RebuildBody {
  m?: number;
  efConstruction?: number;
}

const rebuildBodySchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    m: { type: 'integer', minimum: 2, maximum: 128 },
    efConstruction: { type: 'integer', minimum: 10, maximum: 2000 },
  },
} as const;

/**
 * Routes about the index itself (not in buildIndexServer, which serves any FaceIndex):
 *   GET  /v1/index          -> IndexServiceStatus (faces, persons, HNSW parameters, log position, rebuild)
 *   POST /v1/index/rebuild  { m?, efConstruction? } -> 202 status | 409 CONFLICT while one runs
 */
export function registerIndexAdminRoutes(app: FastifyInstance, service: IndexService): void {
  app.get('/v1/index', async () => service.status());

  app.post<{ Body: RebuildBody | null }>('/v1/index/rebuild', { schema: { body: rebuildBodySchema } }, async (request, reply) => {
    if (!service.startRebuild(request.body ?? {})) throw new ApiError(409, 'CONFLICT', 'a rebuild is already running');
    return reply.status(202).send(service.status());
  });
}
