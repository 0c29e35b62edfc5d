import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses } from '../index-api-schemas.js';
import { ApiError } from '../index-http-server.js';
import {
  type RunResponse,
  runParamsSchema,
  runQuerySchema,
  runResponseSchema,
  runsQuerySchema,
  runsResponseSchema,
} from './console-schemas.js';
import type { RunBrowser } from './run-browser.js';

/**
 * Identify runs, for the console (role read: results name persons):
 *   GET /v1/runs        ?limit&offset -> { total, items: [{ run, source, createdAt, completedAt?, snapshots, counts }] }
 *   GET /v1/runs/:run   ?filter=all|named|unknown|errors&limit&offset -> the run with `total` and
 *                       one page of its snapshots by key: { key, resultKey, width, height, error,
 *                       faces: [{ box, score, personId, outcome?, matches: [{ personId, distance }] }] }
 */
export function registerRunRoutes(app: FastifyInstance, runs: RunBrowser): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get(
    '/v1/runs',
    {
      config: { role: 'read' },
      schema: { querystring: runsQuerySchema, response: { 200: runsResponseSchema, ...errorResponses } },
    },
    async (request) => runs.list(request.query.limit ?? 50, request.query.offset ?? 0),
  );

  routes.get(
    '/v1/runs/:run',
    {
      config: { role: 'read' },
      schema: {
        params: runParamsSchema,
        querystring: runQuerySchema,
        response: { 200: runResponseSchema, ...errorResponses },
      },
    },
    async (request) => {
      const filter = request.query.filter ?? 'all';
      const found = await runs.run(request.params.run, {
        filter,
        limit: request.query.limit ?? 100,
        offset: request.query.offset ?? 0,
      });
      if (found === undefined) throw new ApiError(404, 'NOT_FOUND', `no run ${request.params.run}`);
      const response: RunResponse = { ...found, filter };
      return response;
    },
  );
}
