import type { QueueName } from '../queue/queue-names.js';
import { createEnrollProcessor } from './enroll-job-handler.js';
import { createIdentifyProcessor } from './identify-job-handler.js';
import type { JobKind } from './job-kind.js';
import { createScheduleProcessor } from './schedule-job-handler.js';

/**
 * Every queue of this build and how its jobs run. Adding a job kind: its contract in
 * src/queue/jobs.ts (and name in queue-names.ts), its handler here, its producer in src/producers.
 */
export const JOB_REGISTRY = {
  enroll: { needsEngine: true, createProcessor: createEnrollProcessor },
  identify: { needsEngine: true, createProcessor: createIdentifyProcessor },
  schedule: { needsEngine: false, createProcessor: createScheduleProcessor },
} as const satisfies { readonly [Q in QueueName]: JobKind<Q> };

/** Queues this build has workers for. */
export const WORKER_QUEUES = Object.keys(JOB_REGISTRY) as readonly QueueName[];

/** Whether a process working on these queues needs the face engine. */
export function queuesNeedEngine(queues: readonly QueueName[]): boolean {
  return queues.some((queue) => JOB_REGISTRY[queue].needsEngine);
}
