import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { FaceIndex } from '../face-index.js';
import { registerHttpMetrics } from './http-metrics.js';
import { registerOpenApi } from './openapi.js';
import { registerRequestLog } from './request-log.js';

/**
 * What every index server carries besides its API, registered before the API's routes: the
 * OpenAPI document and Swagger UI, request metrics and GET /metrics, a debug line per request. The queue dashboard and the
 * deployment's metrics need Redis and the IndexService: index-service-runtime adds them.
 */
export function registerServerOps(
  app: FastifyInstance,
  options: { registry?: Registry; index: () => FaceIndex; images?: () => { analysing: number; waiting: number } },
): Registry {
  // Its own registry unless given one: index-service-runtime passes the process's.
  const registry = options.registry ?? new Registry();
  registerOpenApi(app);
  registerHttpMetrics(app, { registry, index: options.index, images: options.images });
  registerRequestLog(app);
  return registry;
}
