import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../src/config/app-config.js';
import { BASE_MODEL } from '../src/engine/embedding-model.js';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import { FaceError } from '../src/errors/face-error.js';
import type { EnrollJobData } from '../src/queue/jobs.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { startMetricsServer } from '../src/util/metrics-server.js';
import type { JobRegistry } from '../src/workers/job-kind.js';
import { summarizeJobResult } from '../src/workers/job-metrics.js';
import { startWorkers } from '../src/workers/worker-process.js';
import { startCli, waitFor } from './support/cli-process.js';
import { parsePrometheusText, sampleValue } from './support/prometheus-text.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKER_OPTIONS = { concurrency: 2, lockDurationMs: 30_000, stalledIntervalMs: 30_000 };
const noEngine: FaceAnalyzer = { model: BASE_MODEL, analyze: () => Promise.reject(new Error('no engine here')) };

let config: AppConfig;
const queues: Queue[] = [];

beforeAll(async () => {
  config = {
    storage: await mkdtemp(path.join(tmpdir(), 'facepipe-worker-metrics-')),
    redisUrl: REDIS_URL,
    queuePrefix: `fptest-${randomBytes(4).toString('hex')}-metrics`,
    indexUrl: 'http://127.0.0.1:7070',
  };
});

afterAll(async () => {
  for (const queue of queues) await queue.obliterate({ force: true }).catch(() => undefined);
  for (const queue of queues) await queue.close().catch(() => undefined);
  if (config) await rm(config.storage, { recursive: true, force: true });
});

function enrollData(keys: string[]): EnrollJobData {
  return {
    storageUrl: config.storage,
    sourceUrl: config.storage,
    model: BASE_MODEL.id,
    items: keys.map((key) => ({ key, personId: 'p1', etag: 'e', size: 1 })),
  };
}

describe('job metrics of a worker process', () => {
  it('count completed jobs, images, faces and failures by code, and failed jobs by code', async () => {
    // A test-only enroll kind: a job whose first key is "boom" throws a FaceError; others complete,
    // with a NO_FACE failure for every key named "blank".
    const registry: JobRegistry = {
      enroll: {
        needsEngine: false,
        createProcessor: () => async (job) => {
          const keys = job.data.items.map((i) => i.key);
          if (keys[0] === 'boom') throw new FaceError('ENGINE_FAILURE', 'the engine crashed');
          const blank = keys.filter((k) => k === 'blank').length;
          return {
            images: keys.length,
            enrolled: keys.length - blank,
            failed: blank,
            facesDetected: 2 * (keys.length - blank),
            errors: (blank > 0 ? { NO_FACE: blank } : {}) as Record<string, number>,
          };
        },
      },
    };
    const metrics = new Registry();
    const queue = new Queue<EnrollJobData>(QUEUE_NAMES.enroll, queueConnectionOptions(config));
    queues.push(queue);
    const workers = await startWorkers(config, noEngine, [QUEUE_NAMES.enroll], WORKER_OPTIONS, { registry, metrics });
    const server = await startMetricsServer(metrics, 0, '127.0.0.1');
    try {
      const scrape = async () => {
        const res = await fetch(server.url);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
        return parsePrometheusText(await res.text());
      };
      const before = await scrape();
      expect(sampleValue(before, 'facepipe_jobs_completed_total', { queue: 'enroll' }) ?? 0).toBe(0);

      await queue.add('enroll', enrollData(['a.jpg', 'b.jpg', 'blank']), { jobId: 'ok-1' });
      await queue.add('enroll', enrollData(['c.jpg']), { jobId: 'ok-2' });
      await queue.add('enroll', enrollData(['boom']), { jobId: 'bad-1', attempts: 1 });
      await waitFor(
        'the three jobs to finish',
        async () => {
          const counts = await queue.getJobCounts('completed', 'failed');
          return counts.completed === 2 && counts.failed === 1 ? true : undefined;
        },
        20_000,
        50,
      );

      const after = await scrape();
      expect(sampleValue(after, 'facepipe_jobs_completed_total', { queue: 'enroll' })).toBe(2);
      expect(sampleValue(after, 'facepipe_job_images_total', { queue: 'enroll' })).toBe(4);
      expect(sampleValue(after, 'facepipe_faces_total', { queue: 'enroll' })).toBe(6);
      expect(sampleValue(after, 'facepipe_job_image_failures_total', { queue: 'enroll', code: 'NO_FACE' })).toBe(1);
      expect(
        sampleValue(after, 'facepipe_jobs_failed_total', { queue: 'enroll', code: 'ENGINE_FAILURE', final: 'true' }),
      ).toBe(1);
      expect(sampleValue(after, 'facepipe_job_duration_seconds_count', { queue: 'enroll', outcome: 'completed' })).toBe(
        2,
      );
      expect(sampleValue(after, 'facepipe_job_duration_seconds_count', { queue: 'enroll', outcome: 'failed' })).toBe(1);
    } finally {
      await server.close();
      await workers.close();
    }
  });

  it('summarize the results of every queue, failures without a code counted as UNKNOWN', () => {
    expect(summarizeJobResult({ images: 3, enrolled: 1, failed: 2, facesDetected: 4, errors: { NO_FACE: 2 } })).toEqual(
      { images: 3, faces: 4, failures: { NO_FACE: 2 } },
    );
    expect(
      summarizeJobResult({ snapshots: 5, failed: 2, faces: 7, identified: 1, errors: { NOT_AN_IMAGE: 1 } }),
    ).toEqual({ images: 5, faces: 7, failures: { NOT_AN_IMAGE: 1, UNKNOWN: 1 } });
    expect(summarizeJobResult(undefined)).toEqual({ images: 0, faces: 0, failures: {} });
  });
});

describe('facepipe worker --metrics-port', () => {
  it('serves the process metrics over HTTP', async () => {
    const port = await freePort();
    queues.push(new Queue(QUEUE_NAMES.schedule, queueConnectionOptions(config)));
    const cli = startCli(['worker', '--queues', 'schedule', '--metrics-port', String(port)], {
      REDIS_URL,
      FACEPIPE_STORAGE: config.storage,
      FACEPIPE_QUEUE_PREFIX: config.queuePrefix,
      FACEPIPE_LOG_FORMAT: 'json',
    });
    try {
      const text = await waitFor(
        'the metrics server',
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`);
          return res.ok ? res.text() : undefined;
        },
        30_000,
      );
      const samples = parsePrometheusText(text);
      // Node's own metrics, under the facepipe_ prefix like every other.
      expect(sampleValue(samples, 'facepipe_process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(samples.every((s) => s.name.startsWith('facepipe_'))).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      // Stopped once its workers run (the metrics server starts first, before the signal handler).
      await waitFor('the workers', async () => (cli.stderr().includes('workers started') ? true : undefined), 30_000);
    } finally {
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    }
    expect(cli.stderr()).toContain(`"url":"http://127.0.0.1:${port}/metrics"`);
  }, 45_000);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
