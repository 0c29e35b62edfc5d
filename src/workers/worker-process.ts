import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { GalleryStore } from '../gallery/gallery-store.js';
import { logger } from '../logger.js';
import { ChangeLog } from '../queue/change-log.js';
import { changeLogKey, matchKeyPrefix, QUEUE_NAMES, queueConnectionOptions, type QueueName } from '../queue/queue-names.js';
import { openStorage } from '../storage/open-storage.js';
import { IndexClient } from '../index/index-client.js';
import { MatchStore } from '../matches/match-store.js';
import { ResultStore } from '../results/result-store.js';
import { EnrollJobHandler } from './enroll-job-handler.js';
import { IdentifyJobHandler } from './identify-job-handler.js';
import { createIdentifyWorker } from './identify-worker.js';
import { createEnrollWorker } from './enroll-worker.js';
import type { QueueWorkerOptions } from './queue-worker-options.js';
import { ScheduleJobHandler } from './schedule-job-handler.js';
import { createScheduleWorker } from './schedule-worker.js';
import type { FaceAnalyzer } from './types.js';

/** Queues this build has workers for. */
export const WORKER_QUEUES: readonly QueueName[] = [QUEUE_NAMES.enroll, QUEUE_NAMES.identify, QUEUE_NAMES.schedule];

export interface RunningWorkers {
  /** Stops taking jobs, lets the active ones finish, and closes the connections. */
  close(): Promise<void>;
}

/**
 * Starts the queue consumers of one process on a shared engine: the `facepipe worker` command, and
 * the worker half of `facepipe up`.
 */
export async function startWorkers(
  config: AppConfig,
  analyzer: FaceAnalyzer,
  queues: readonly QueueName[],
  options: QueueWorkerOptions,
): Promise<RunningWorkers> {
  const storage = openStorage(config.storage);
  const { model } = analyzer;
  const gallery = new GalleryStore(storage, model.id);
  const redis = new Redis(config.redisUrl, { lazyConnect: false });
  const changeLog = new ChangeLog(redis, changeLogKey(config, model.id));
  const connection = queueConnectionOptions(config);

  const workers: Worker[] = [];
  for (const queue of queues) {
    if (queue === QUEUE_NAMES.enroll) {
      const handler = new EnrollJobHandler({ analyzer, gallery, changeLog, storageUrl: config.storage });
      workers.push(createEnrollWorker(connection, handler, options));
    } else if (queue === QUEUE_NAMES.identify) {
      const index = new IndexClient(config.indexUrl);
      const matches = new MatchStore(redis, matchKeyPrefix(config));
      const handler = new IdentifyJobHandler({
        analyzer,
        results: new ResultStore(storage),
        storageUrl: config.storage,
        model,
        search: async (vectors, k) => (await index.search(vectors, k, { persons: true, model: model.id })).results,
        onResult: async (run, resultKey, result) => {
          await matches.recordResult(run, resultKey, result);
        },
      });
      workers.push(createIdentifyWorker(connection, handler, options));
    } else if (queue === QUEUE_NAMES.schedule) {
      workers.push(createScheduleWorker(connection, new ScheduleJobHandler({ config, model }), options));
    } else {
      throw new Error(`no worker for queue ${queue} in this build (available: ${WORKER_QUEUES.join(', ')})`);
    }
  }
  for (const worker of workers) {
    worker.on('failed', (job, err) => logger.warn({ queue: worker.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'));
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
