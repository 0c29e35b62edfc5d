import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { AppConfig } from '../config/app-config.js';
import type { FaceAnalyzer } from '../engine/face-analyzer.js';
import { logger } from '../logger.js';
import { queueConnectionOptions, type QueueName } from '../queue/queue-names.js';
import { FolderStorage } from '../storage/folder-storage.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { processMetricsRegistry } from '../util/metrics-registry.js';
import type { JobProcessor, JobRegistry, RunIdentify, WorkerContext } from './job-kind.js';
import { JobMetrics, jobErrorCode } from './job-metrics.js';
import { JOB_REGISTRY } from './job-registry.js';
import { createQueueWorker } from './queue-worker.js';
import type { QueueWorkerOptions } from './queue-worker-options.js';

export interface RunningWorkers {
  /** Stops taking jobs, lets the active ones finish, and closes the connections. */
  close(): Promise<void>;
}

export interface WorkerWiring {
  /** The identify producer, for the schedule queue: the entry point passes it (workers never import producers). */
  runIdentify?: RunIdentify;
  /** Default JOB_REGISTRY. */
  registry?: JobRegistry;
  /** Where the job metrics go (default: the process's registry, served by --metrics-port or the service). */
  metrics?: Registry;
  /** The 1:N rule settings given explicitly (flags, environment), for the identify queue. */
  rule?: WorkerContext['rule'];
}

/**
 * Starts the queue consumers of one process on a shared engine: the `facepipe worker` command, and
 * the worker half of `facepipe up`. Refuses, before any worker starts, a queue the registry has no
 * handler for.
 */
export async function startWorkers(
  config: AppConfig,
  analyzer: FaceAnalyzer,
  queues: readonly QueueName[],
  options: QueueWorkerOptions,
  wiring: WorkerWiring = {},
): Promise<RunningWorkers> {
  const registry = wiring.registry ?? JOB_REGISTRY;
  const unknown = queues.filter((queue) => registry[queue] === undefined);
  if (unknown.length > 0) {
    throw new Error(
      `no handler for queue ${unknown.join(', ')} in this build (available: ${Object.keys(registry).join(', ')})`,
    );
  }
  const metrics = new JobMetrics(wiring.metrics ?? processMetricsRegistry());
  const redis = new Redis(config.redisUrl, { lazyConnect: false });
  const storage = openStorage(config.storage);
  removeStaleTempFiles(storage);
  const context: WorkerContext = {
    config,
    analyzer: metrics.observeAnalyzer(analyzer),
    storage,
    redis,
    runIdentify: wiring.runIdentify,
    rule: wiring.rule,
  };
  const connection = queueConnectionOptions(config);

  // Every handler is built before any worker takes a job: a handler that cannot start stops them all.
  let processors: Array<{ queue: QueueName; processor: JobProcessor<QueueName> }>;
  try {
    processors = queues.map((queue) => ({ queue, processor: createProcessor(registry, queue, context) }));
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const workers: Worker[] = processors.map(({ queue, processor }) =>
    createQueueWorker(queue, metrics.instrument(queue, processor), connection, options),
  );
  for (const worker of workers) {
    worker.on('failed', (job, err) =>
      logger.warn(
        { queue: worker.name, jobId: job?.id, attempts: job?.attemptsMade, code: jobErrorCode(err), err: err.message },
        'job failed',
      ),
    );
    worker.on('error', (err) => logger.error({ queue: worker.name, err: err.message }, 'worker error'));
    await worker.waitUntilReady();
  }
  logger.info({ queues, concurrency: options.concurrency, prefix: connection.prefix }, 'workers started');

  return {
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      redis.disconnect();
    },
  };
}

/**
 * In the background: the temp files that writers killed mid-`put` left in a folder storage (old
 * enough not to be a live write's). A failure is logged, never fatal.
 */
function removeStaleTempFiles(storage: Storage): void {
  if (!(storage instanceof FolderStorage)) return;
  storage.removeStaleTempFiles().then(
    (removed) => {
      if (removed > 0)
        logger.info({ removed, root: storage.root }, `removed ${removed} temp file(s) of killed writers`);
    },
    (err: Error) => logger.warn({ err: err.message, root: storage.root }, 'could not clean temp files'),
  );
}

function createProcessor<Q extends QueueName>(
  registry: JobRegistry,
  queue: Q,
  context: WorkerContext,
): JobProcessor<Q> {
  const kind = registry[queue];
  if (kind === undefined) throw new Error(`no handler for queue ${queue}`);
  return kind.createProcessor(context);
}
