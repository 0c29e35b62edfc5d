import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../src/config/app-config.js';
import type { FaceEngine } from '../../src/engine/face-engine.js';
import { type RunningIndexService, startIndexService } from '../../src/index/index-service-runtime.js';
import { changeLogKey, QUEUE_NAMES, queueConnectionOptions } from '../../src/queue/queue-names.js';
import { type RunningWorkers, startWorkers } from '../../src/workers/worker-process.js';

/** The index service and the enroll + identify workers of one test deployment, on one engine. */
export interface TestPipeline {
  /** The deployment's config, with `indexUrl` naming the running service. */
  config: AppConfig;
  index: RunningIndexService;
  workers: RunningWorkers;
  /** Stops the workers and the service, then removes the deployment's queues and Redis keys. */
  close(): Promise<void>;
}

const QUEUES = [QUEUE_NAMES.enroll, QUEUE_NAMES.identify] as const;

/** Starts the pipeline the end-to-end tests share; `config` must carry a random queue prefix. */
export async function startTestPipeline(config: AppConfig, engine: FaceEngine): Promise<TestPipeline> {
  const index = await startIndexService(config, {
    model: engine.model,
    port: 0,
    host: '127.0.0.1',
    analyzer: engine,
    service: { readBlockMs: 100 },
  });
  const served = { ...config, indexUrl: index.url };
  const workers = await startWorkers(served, engine, QUEUES, {
    concurrency: 2,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
  });
  return {
    config: served,
    index,
    workers,
    async close() {
      await workers.close();
      await index.close();
      for (const name of QUEUES) {
        const queue = new Queue(name, queueConnectionOptions(served));
        await queue.obliterate({ force: true });
        await queue.close();
      }
      const redis = new Redis(served.redisUrl);
      await redis.del(changeLogKey(served, engine.model.id));
      const leftovers = await redis.keys(`${served.queuePrefix}:*`); // match records (random prefix: ours alone)
      if (leftovers.length > 0) await redis.del(...leftovers);
      redis.disconnect();
    },
  };
}
