import type { Worker } from 'bullmq';
import type { EnrollJobData } from '../producers/types.js';
import { QUEUE_NAMES, type QueueConnectionOptions } from '../queue/queue-names.js';
import type { EnrollJobHandler } from './enroll-job-handler.js';
import { createQueueWorker } from './queue-worker.js';
import type { QueueWorkerOptions } from './queue-worker-options.js';
import type { EnrollJobResult } from './types.js';

/** The BullMQ consumer of the enroll queue. */
export function createEnrollWorker(
  connection: QueueConnectionOptions,
  handler: EnrollJobHandler,
  options: QueueWorkerOptions,
): Worker<EnrollJobData, EnrollJobResult> {
  return createQueueWorker<EnrollJobData, EnrollJobResult>(QUEUE_NAMES.enroll, (job) => handler.handle(job.id!, job.data), connection, options);
}
