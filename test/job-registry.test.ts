import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../src/config/app-config.js';
import { BASE_MODEL } from '../src/engine/embedding-model.js';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import type { IdentifyJobData, IdentifyJobResult } from '../src/queue/jobs.js';
import { QUEUE_NAMES, queueConnectionOptions, type QueueName } from '../src/queue/queue-names.js';
import type { JobRegistry, WorkerContext } from '../src/workers/job-kind.js';
import { JOB_REGISTRY, queuesNeedEngine, WORKER_QUEUES } from '../src/workers/job-registry.js';
import { startWorkers } from '../src/workers/worker-process.js';
import { waitFor } from './support/cli-process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKER_OPTIONS = { concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 };
const noEngine: FaceAnalyzer = {
  model: BASE_MODEL,
  analyze: () => Promise.reject(new Error('no engine in this test')),
};

let config: AppConfig;
const queues: Queue[] = [];

function openQueue<T>(name: QueueName): Queue<T> {
  const queue = new Queue<T>(name, queueConnectionOptions(config));
  queues.push(queue);
  return queue;
}

beforeAll(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'facepipe-job-registry-'));
  config = {
    storage: dir,
    redisUrl: REDIS_URL,
    queuePrefix: `fptest-${randomBytes(4).toString('hex')}-registry`,
    indexUrl: 'http://127.0.0.1:7070',
  };
});

afterAll(async () => {
  for (const queue of queues) await queue.obliterate({ force: true }).catch(() => undefined);
  for (const queue of queues) await queue.close().catch(() => undefined);
  if (config) await rm(config.storage, { recursive: true, force: true });
});

describe('the job registry', () => {
  it('has a handler for every queue, and knows which need the face engine', () => {
    expect([...WORKER_QUEUES]).toEqual(Object.values(QUEUE_NAMES));
    for (const queue of WORKER_QUEUES) expect(typeof JOB_REGISTRY[queue].createProcessor).toBe('function');
    expect(queuesNeedEngine([QUEUE_NAMES.schedule])).toBe(false);
    expect(queuesNeedEngine([QUEUE_NAMES.schedule, QUEUE_NAMES.identify])).toBe(true);
    expect(queuesNeedEngine([QUEUE_NAMES.enroll])).toBe(true);
  });
});

describe('startWorkers', () => {
  it('refuses a queue with no handler, before any worker starts', async () => {
    const registry: JobRegistry = {
      identify: { needsEngine: false, createProcessor: () => () => Promise.reject(new Error('never runs')) },
    };
    await expect(
      startWorkers(config, noEngine, [QUEUE_NAMES.identify, QUEUE_NAMES.schedule], WORKER_OPTIONS, { registry }),
    ).rejects.toThrow('no handler for queue schedule in this build (available: identify)');
    // The queue it does have a handler for got no worker either.
    expect(await openQueue(QUEUE_NAMES.identify).getWorkersCount()).toBe(0);
  });

  it('refuses the schedule queue without the identify producer to run', async () => {
    await expect(startWorkers(config, noEngine, [QUEUE_NAMES.schedule], WORKER_OPTIONS)).rejects.toThrow(
      /schedule queue runs the identify producer/,
    );
    expect(await openQueue(QUEUE_NAMES.schedule).getWorkersCount()).toBe(0);
  });

  it('runs the jobs of a registered kind with the handler its factory builds', async () => {
    const contexts: WorkerContext[] = [];
    const registry: JobRegistry = {
      identify: {
        needsEngine: false,
        createProcessor: (context) => {
          contexts.push(context);
          return async (job) => ({
            snapshots: job.data.items.length,
            failed: 0,
            faces: 0,
            identified: job.data.run === 'night-1' ? 1 : 0,
          });
        },
      },
    };
    const queue = openQueue<IdentifyJobData>(QUEUE_NAMES.identify);
    const data: IdentifyJobData = {
      storageUrl: config.storage,
      sourceUrl: config.storage,
      run: 'night-1',
      model: BASE_MODEL.id,
      items: [{ key: 'cam/1.jpg', etag: 'e1', size: 1, modified: '2026-11-29T02:00:00.000Z' }],
    };
    const workers = await startWorkers(config, noEngine, [QUEUE_NAMES.identify], WORKER_OPTIONS, { registry });
    try {
      // One handler per process, built from the process's context.
      expect(contexts).toHaveLength(1);
      // The analyzer is the process's, wrapped by the job metrics (its detect/embed timings).
      expect(contexts[0]).toMatchObject({ config, analyzer: { model: noEngine.model } });
      const jobId = 'registered-kind';
      await queue.add('identify', data, { jobId });
      const result = await waitFor(
        'the job to complete',
        async () =>
          (await queue.getJobState(jobId)) === 'completed' ? (await queue.getJob(jobId))?.returnvalue : undefined,
        30_000,
      );
      expect(result).toEqual<IdentifyJobResult>({ snapshots: 1, failed: 0, faces: 0, identified: 1 });
    } finally {
      await workers.close();
    }
  });
});
