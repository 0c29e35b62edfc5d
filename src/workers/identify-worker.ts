import type { Worker } from 'bullmq';
import type { IdentifyJobData } from '../producers/types.js';
import { QUEUE_NAMES, type QueueConnectionOptions } from '../queue/queue-names.js';
import type { IdentifyJobHandler } from './identify-job-handler.js';
import { createQueueWorker } from './queue-worker.js';
import type { QueueWorkerOptions } from './queue-worker-options.js';
import type { IdentifyJobResult } from './types.js';

/** The BullMQ consumer of the identify queue. */
export function createIdentifyWorker(
  connection: QueueConnectionOptions,
  handler: IdentifyJobHandler,
  options: QueueWorkerOptions,
): Worker<IdentifyJobData, IdentifyJobResult> {
  return createQueueWorker<IdentifyJobData, IdentifyJobResult>(
    QUEUE_NAMES.identify,
    // On the last attempt, faults end up in the result files instead of failing the job.
    (job) => handler.handle(job.id!, job.data, job.attemptsMade + 1 >= (job.opts.attempts ?? 1)),
    connection,
    options,
  );
}
