import { Worker } from 'bullmq';
import type { EnrollJobData } from '../producers/types.js';
import { QUEUE_NAMES, type QueueConnectionOptions } from '../queue/queue-names.js';
import type { EnrollJobHandler } from './enroll-job-handler.js';
import type { EnrollJobResult } from './types.js';
import type { QueueWorkerOptions } from './queue-worker-options.js';

/**
 * The BullMQ consumer of the enroll queue. Only I/O and awaiting happen on this thread (inference
 * runs in the engine's worker threads), so job locks are renewed on time and nothing stalls.
 */
export function createEnrollWorker(
  connection: QueueConnectionOptions,
  handler: EnrollJobHandler,
  options: QueueWorkerOptions,
): Worker<EnrollJobData, EnrollJobResult> {
  return new Worker<EnrollJobData, EnrollJobResult>(QUEUE_NAMES.enroll, (job) => handler.handle(job.id!, job.data), {
    ...connection,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    // A job whose worker died is taken over; it fails for good only after dying this often.
    maxStalledCount: 3,
    autorun: true,
  });
}
