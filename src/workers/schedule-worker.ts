import type { Worker } from 'bullmq';
import type { ScheduleJobData } from '../queue/identify-schedule.js';
import { QUEUE_NAMES, type QueueConnectionOptions } from '../queue/queue-names.js';
import { createQueueWorker } from './queue-worker.js';
import type { QueueWorkerOptions } from './queue-worker-options.js';
import type { ScheduleJobHandler, ScheduleJobResult } from './schedule-job-handler.js';

/**
 * The BullMQ consumer of the schedule queue: the jobs its job schedulers add at their cron times.
 * Each job only lists a source and enqueues (I/O, no inference), so it needs no engine.
 */
export function createScheduleWorker(
  connection: QueueConnectionOptions,
  handler: ScheduleJobHandler,
  options: QueueWorkerOptions,
): Worker<ScheduleJobData, ScheduleJobResult> {
  return createQueueWorker<ScheduleJobData, ScheduleJobResult>(QUEUE_NAMES.schedule, (job) => handler.handle(job.id!, job.data), connection, options);
}
