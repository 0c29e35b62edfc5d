import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppConfig, loadAppConfig } from '../src/config/app-config.js';
import { BASE_MODEL } from '../src/engine/embedding-model.js';
import { type RunningIndexService, startIndexService } from '../src/index/index-service-runtime.js';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import type { ScheduleJobData } from '../src/queue/jobs.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import type { JobRegistry } from '../src/workers/job-kind.js';
import { startWorkers } from '../src/workers/worker-process.js';
import { waitFor } from './support/cli-process.js';
import { parsePrometheusText, sampleValue } from './support/prometheus-text.js';

/** The index service as `facepipe serve` runs it, over real HTTP: its dashboard, metrics and docs. */
let dir: string;
let config: AppConfig;
let service: RunningIndexService;
let enroll: Queue;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-ops-'));
  config = loadAppConfig({ storage: dir, queuePrefix: `fptest-${randomBytes(4).toString('hex')}-ops` });
  service = await startIndexService(config, { port: 0, host: '127.0.0.1', service: { readBlockMs: 100 } });
  enroll = new Queue(QUEUE_NAMES.enroll, queueConnectionOptions(config));
});

afterAll(async () => {
  await service?.close();
  for (const name of Object.values(QUEUE_NAMES)) {
    const queue = new Queue(name, queueConnectionOptions(config));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
  await enroll?.close();
  await rm(dir, { recursive: true, force: true });
});

const get = (url: string, init?: RequestInit) => fetch(service.url + url, init);

describe('the queue dashboard at /queues', () => {
  it('serves its page and the assets the page names, from node_modules', async () => {
    const page = await get('/queues');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('facepipe queues');
    expect(html).toContain('<base href="/queues/" />');
    // Nothing from another site (bull-board's template links Google Fonts; the service drops it).
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((m) => `/queues/${m[1]}`);
    expect(assets.filter((a) => /\.js$/.test(a)).length).toBeGreaterThan(0);
    expect(assets.filter((a) => /\.css$/.test(a)).length).toBeGreaterThan(0);
    for (const asset of assets) {
      const res = await get(asset);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
  });

  it('lists a failed job with its error, and retries it', async () => {
    await enroll.add('enroll', { items: [] }, { jobId: 'doomed', attempts: 1 });
    const failing = new Worker(
      QUEUE_NAMES.enroll,
      async () => {
        throw new Error('NO_FACE: nobody in the test');
      },
      queueConnectionOptions(config),
    );
    try {
      await waitFor(
        'the job to fail',
        async () => ((await enroll.getJobState('doomed')) === 'failed' ? true : undefined),
        20_000,
        50,
      );
    } finally {
      await failing.close();
    }
    const res = await get('/queues/api/queues?activeQueue=enroll&status=failed');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      queues: Array<{
        name: string;
        counts: Record<string, number>;
        jobs: Array<{ id: string; failedReason: string }>;
      }>;
    };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['enroll', 'identify', 'schedule']);
    const queue = body.queues.find((q) => q.name === 'enroll')!;
    expect(queue.counts.failed).toBe(1);
    expect(queue.jobs).toEqual([
      expect.objectContaining({ id: 'doomed', failedReason: 'NO_FACE: nobody in the test' }),
    ]);

    const metrics = parsePrometheusText(await (await get('/metrics')).text());
    expect(sampleValue(metrics, 'facepipe_queue_jobs', { queue: 'enroll', state: 'failed' })).toBe(1);

    const retry = await get('/queues/api/queues/enroll/doomed/retry', { method: 'PUT' });
    await retry.text();
    expect(retry.status).toBe(204);
    expect(await enroll.getJobState('doomed')).toBe('waiting');
  });
});

describe('GET /metrics on the index service', () => {
  it('is Prometheus text with the index, the change log, the snapshot, the queues and the requests', async () => {
    await (await get('/v1/persons')).text();
    const search = await get('/v1/search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ vectors: [new Array(BASE_MODEL.embeddingSize).fill(0.01)], k: 1 }),
    });
    expect(search.status, await search.text()).toBe(200);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheusText(await res.text());
    expect(samples.every((s) => s.name.startsWith('facepipe_'))).toBe(true);
    expect(sampleValue(samples, 'facepipe_index_faces')).toBe(0);
    expect(sampleValue(samples, 'facepipe_index_persons')).toBe(0);
    expect(sampleValue(samples, 'facepipe_change_log_lag_seconds')).toBe(0);
    // The service writes a snapshot of what it loaded at start (NaN until it has).
    const age = await waitFor('a snapshot', async () => {
      const scraped = parsePrometheusText(await (await get('/metrics')).text());
      const value = sampleValue(scraped, 'facepipe_last_snapshot_age_seconds');
      return value !== undefined && !Number.isNaN(value) ? value : undefined;
    });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);
    for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
      expect(sampleValue(samples, 'facepipe_queue_jobs', { queue: 'identify', state })).toBe(0);
    }
    expect(
      sampleValue(samples, 'facepipe_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/v1/persons',
        status_code: '200',
      }),
    ).toBe(1);
    expect(sampleValue(samples, 'facepipe_search_duration_seconds_count', { route: '/v1/search' })).toBe(1);
  });
});

describe('GET /metrics of `facepipe up` (service and workers in one process)', () => {
  it('shows the job counters of the workers, which move when a job runs', async () => {
    const scrape = async () => parsePrometheusText(await (await get('/metrics')).text());
    const completed = async () =>
      sampleValue(await scrape(), 'facepipe_jobs_completed_total', { queue: 'schedule' }) ?? 0;
    // A test-only schedule kind: the cheapest job there is, no engine, no storage.
    const registry: JobRegistry = {
      schedule: {
        needsEngine: false,
        createProcessor: () => async (job) => ({
          run: `run-${job.id}`,
          since: null,
          resultsPrefix: 'facepipe/results/x/',
          snapshots: 3,
          alreadyDone: 0,
          alreadyQueued: 0,
          enqueued: 3,
          jobs: 1,
        }),
      },
    };
    const noEngine = { model: BASE_MODEL, analyze: () => Promise.reject(new Error('none')) } as FaceAnalyzer;
    const workers = await startWorkers(
      config,
      noEngine,
      [QUEUE_NAMES.schedule],
      { concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
      { registry },
    );
    const schedule = new Queue<ScheduleJobData>(QUEUE_NAMES.schedule, queueConnectionOptions(config));
    try {
      const before = await completed();
      await schedule.add('identify', { kind: 'identify', source: 'file:///nowhere' }, { jobId: 'tick-1' });
      await waitFor(
        'the counter to move',
        async () => ((await completed()) === before + 1 ? true : undefined),
        20_000,
        50,
      );
      const samples = await scrape();
      expect(sampleValue(samples, 'facepipe_job_images_total', { queue: 'schedule' })).toBe(3);
      expect(sampleValue(samples, 'facepipe_queue_jobs', { queue: 'schedule', state: 'completed' })).toBe(1);
    } finally {
      await workers.close();
      await schedule.close();
    }
  });
});

describe('/openapi.json and /docs on the index service', () => {
  it('serve the generated document and Swagger UI with its assets', async () => {
    const doc = (await (await get('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    // The routes the runtime adds after the server is built are in it too.
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/index', '/v1/index/rebuild', '/v1/persons/{id}/matches']),
    );
    const page = await get('/docs/');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    const assets = [...html.matchAll(/(?:src|href)="\.?\/?([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const res = await get(`/docs/${asset.replace(/^docs\//, '')}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
  });
});
