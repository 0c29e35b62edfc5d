import { Worker, type Job } from 'bullmq';
import type { QueueConnectionOptions, QueueName } from '../queue/queue-names.js';
import type { QueueWorkerOptions } from './queue-worker-options.js';

/**
 * A BullMQ consumer with facepipe's settings. Only I/O and awaiting happen on this thread (inference
 * runs in the engine's worker threads), so job locks are renewed on time and nothing stalls; a job
 * whose worker died is taken over when its lock expires, and fails for good only after dying
 * `maxStalledCount` times.
 */
export function createQueueWorker<D, R>(
  queue: QueueName,
  process: (job: Job<D, R>) => Promise<R>,
  connection: QueueConnectionOptions,
  options: QueueWorkerOptions,
): Worker<D, R> {
  return new Worker<D, R>(queue, process, {
    ...connection,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: 3,
  });
}
