import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { AppConfig } from '../../config/app-config.js';
import type { ChangeLog } from '../../queue/change-log.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../../queue/queue-names.js';
import type { IndexService } from '../index-service.js';
import { registerQueueDashboard } from './queue-dashboard.js';
import { registerServiceMetrics } from './service-metrics.js';

/**
 * The deployment's window on an index service's app: the queue dashboard at /queues and the
 * metrics only the service reports (queue depth, change-log lag, snapshot age). Returns what
 * closes the queues' Redis connections.
 */
export function registerDeploymentOps(
  app: FastifyInstance,
  options: { config: AppConfig; registry: Registry; service: IndexService; changeLog: ChangeLog },
): () => Promise<void> {
  const connection = queueConnectionOptions(options.config);
  const queues = Object.values(QUEUE_NAMES).map((name) => new Queue(name, connection));
  registerQueueDashboard(app, queues);
  registerServiceMetrics(options.registry, {
    queues,
    status: () => options.service.status(),
    lastChange: async () => (await options.changeLog.bounds()).last,
  });
  return async () => {
    await Promise.all(queues.map((queue) => queue.close()));
  };
}
