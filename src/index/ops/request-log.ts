import type { FastifyInstance } from 'fastify';
import { logger } from '../../logger.js';

/**
 * One debug line per answered request (method, URL path, status, ms) on the process's logger:
 * requests are routine, so they show only with FACEPIPE_LOG_LEVEL=debug. Not fastify's own request
 * logging, which logs at info and needs the logger handed to fastify.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    if (!logger.isLevelEnabled('debug')) return;
    logger.debug(
      {
        method: request.method,
        url: request.url.split('?')[0],
        route: request.routeOptions.url,
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      `${request.method} ${request.url.split('?')[0]} ${reply.statusCode} ${Math.round(reply.elapsedTime)} ms`,
    );
  });
}
