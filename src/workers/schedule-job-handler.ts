import { UnrecoverableError } from 'bullmq';
import type { AppConfig } from '../config/app-config.js';
import { logger } from '../logger.js';
import type { EmbeddingModel } from '../engine/embedding-model.js';
import type { ScheduleJobData, ScheduleJobResult } from '../queue/jobs.js';
import type { JobProcessor, RunIdentify, WorkerContext } from './job-kind.js';

export interface ScheduleJobHandlerDeps {
  /** The deployment (storage, Redis, queue prefix) the identify run enqueues into. */
  config: AppConfig;
  /** The deployment's embedding model: the identify jobs carry its id. */
  model?: EmbeddingModel;
  /** The identify producer (src/producers' runIdentify, passed in by the entry point). */
  runIdentify: RunIdentify;
}

/**
 * One job of a `schedule` queue scheduler (`facepipe schedule identify`): run the identify
 * producer on the source, as `facepipe identify <source>` would: a new run of the snapshots newer
 * than the last completed run's watermark, enqueued for the identify workers. No inference here.
 *
 * The run id derives from the scheduled firing (`<scheduler id>-<scheduled time>`), so a retried
 * or stalled-and-rerun job continues the same run (the producer re-enqueues only what is missing)
 * instead of starting a second run over the same snapshots. A job not made by a scheduler (added
 * by hand) gets a fresh run id from the producer.
 *
 * A job of a kind this build does not know fails for good; anything else that throws (Redis or
 * storage unreachable) is retried with backoff per the scheduler's job template.
 */
export class ScheduleJobHandler {
  constructor(private readonly deps: ScheduleJobHandlerDeps) {}

  async handle(jobId: string, data: ScheduleJobData): Promise<ScheduleJobResult> {
    if (data?.kind !== 'identify') {
      throw new UnrecoverableError(
        `schedule job ${jobId} has kind ${JSON.stringify(data?.kind)}; this build runs only "identify"`,
      );
    }
    if (typeof data.source !== 'string' || data.source === '') {
      throw new UnrecoverableError(`schedule job ${jobId} names no source`);
    }
    const run = scheduledRunId(jobId);
    const report = await this.deps.runIdentify(this.deps.config, {
      source: data.source,
      model: this.deps.model,
      ...(run === undefined ? {} : { run }),
    });
    logger.info({ jobId, source: data.source, report }, 'scheduled identify run enqueued');
    return report;
  }
}

/**
 * The schedule queue's handler. Its jobs only list a source and enqueue (I/O, no inference), so it
 * needs no engine, but it needs the identify producer from the entry point.
 */
export function createScheduleProcessor({ config, analyzer, runIdentify }: WorkerContext): JobProcessor<'schedule'> {
  if (runIdentify === undefined)
    throw new Error('the schedule queue runs the identify producer: startWorkers needs { runIdentify }');
  const handler = new ScheduleJobHandler({ config, model: analyzer.model, runIdentify });
  return (job) => handler.handle(job.id!, job.data);
}

/**
 * `repeat:<scheduler id>:<epoch ms>` (the id BullMQ gives each job of a job scheduler) ->
 * `<scheduler id>-<yyyymmddThhmmssZ>`, a valid run id; undefined for any other job id.
 */
export function scheduledRunId(jobId: string): string | undefined {
  const match = /^repeat:([A-Za-z0-9][A-Za-z0-9_-]{0,99}):(\d+)$/.exec(jobId);
  if (!match) return undefined;
  const time = new Date(Number(match[2]));
  if (Number.isNaN(time.getTime())) return undefined;
  return `${match[1]}-${time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}
