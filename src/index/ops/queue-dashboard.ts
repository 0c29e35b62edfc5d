import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { assignRouteRole } from './route-role.js';

export const DASHBOARD_PATH = '/queues';

/**
 * The queue dashboard (bull-board) at /queues: jobs by state, failed jobs with their errors, retry.
 * Its routes (page, JSON API, assets from @bull-board/ui) get role admin: the dashboard can retry,
 * promote and clean jobs.
 */
export function registerQueueDashboard(app: FastifyInstance, queues: readonly Queue[]): void {
  const adapter = new FastifyAdapter();
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'facepipe queues' } },
  });
  adapter.setBasePath(DASHBOARD_PATH);
  app.register(async (scope) => {
    assignRouteRole(scope, 'admin');
    scope.addHook('onSend', async (_request, reply, payload) =>
      typeof payload === 'string' && String(reply.getHeader('content-type')).startsWith('text/html')
        ? withoutRemoteAssets(payload)
        : payload,
    );
    await scope.register(adapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}

/**
 * The page without what it would fetch from other sites (bull-board's template links Google
 * Fonts): the dashboard works offline, and an operator's browser tells no third party it is open.
 * The UI falls back to the system's fonts.
 */
export function withoutRemoteAssets(html: string): string {
  return html.replace(/<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>/gi, '');
}
