import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import type { EmbeddingModel } from '../engine/embedding-model.js';
import type { FaceAnalyzer } from '../engine/face-analyzer.js';
import type { IdentificationRule } from '../engine/model-card.js';
import type { JobData, JobResult, ScheduleJobResult } from '../queue/jobs.js';
import type { QueueName } from '../queue/queue-names.js';
import type { Storage } from '../storage/storage.js';

/**
 * The identify producer as a schedule job runs it (without waiting). The entry point passes
 * src/producers' runIdentify: workers never import producers.
 */
export type RunIdentify = (
  config: AppConfig,
  options: { source: string; model?: EmbeddingModel; run?: string },
) => Promise<ScheduleJobResult>;

/** What a job kind's handler is built from: one of each per worker process, shared by its queues. */
export interface WorkerContext {
  config: AppConfig;
  /** The face engine; a stand-in that refuses to analyze when none of the process's queues needs one. */
  analyzer: FaceAnalyzer;
  /** The deployment's storage (gallery, results). */
  storage: Storage;
  /** A Redis connection for the handlers' own keys (change log, matches). */
  redis: Redis;
  /** Needed by the schedule queue only. */
  runIdentify?: RunIdentify;
  /** The 1:N rule settings given explicitly (flags, environment): they win over the deployment's. */
  rule?: Partial<IdentificationRule>;
}

/** Runs one job of queue Q: its return value is the job's result in BullMQ. */
export type JobProcessor<Q extends QueueName> = (job: Job<JobData<Q>, JobResult<Q>>) => Promise<JobResult<Q>>;

/** How one queue's jobs are run. */
export interface JobKind<Q extends QueueName> {
  /** Whether its jobs run inference: a process whose queues need none starts no face engine. */
  needsEngine: boolean;
  /** Builds the handler, once per process; throws when the context lacks what it needs. */
  createProcessor(context: WorkerContext): JobProcessor<Q>;
}

/** Job kinds by queue; a queue without one has no worker. */
export type JobRegistry = { readonly [Q in QueueName]?: JobKind<Q> };
