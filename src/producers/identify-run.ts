import { Queue } from 'bullmq';
import type { AppConfig } from '../config/app-config.js';
import { BASE_MODEL, type EmbeddingModel } from '../engine/embedding-model.js';
import { hasImageExtension } from '../files/image-files.js';
import { logger } from '../logger.js';
import { waitForJobs } from '../queue/job-tracker.js';
import type { IdentifyEnqueueReport, IdentifyJobData, IdentifyJobResult, SnapshotItem } from '../queue/jobs.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../queue/queue-names.js';
import { ResultStore } from '../results/result-store.js';
import { listAll } from '../storage/list-all.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { canonicalStorageUrl } from '../storage/storage-url.js';
import { shortHash } from '../util/short-hash.js';
import { IdentifyProducer } from './identify-producer.js';
import { RunStore } from './run-store.js';
import type { IdentifyRunRecord } from './types.js';

export const DEFAULT_IDENTIFY_CHUNK_SIZE = 8;

/** Run ids name storage folders and appear in job ids: letters, digits, '.', '_' and '-'. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface IdentifyRunOptions {
  /** Folder or S3 URL of the snapshots. */
  source: string;
  /** Run id: a new one by default; an existing one re-runs that run (adds only what was lost). */
  run?: string;
  /** Only snapshots modified after this ISO time; default: the last completed run's watermark. */
  since?: string;
  chunkSize?: number;
  wait?: boolean;
  onProgress?: (progress: { done: number; total: number; failed: number; faces: number }) => void;
  abort?: AbortSignal;
  /** The deployment's embedding model (default: the engine's, without adapter): the jobs carry its id. */
  model?: EmbeddingModel;
}

export interface IdentifyRunSummary {
  run: string;
  snapshots: number;
  faces: number;
  identified: number;
  unknown: number;
  failed: number;
  seconds: number;
  resultsPrefix: string;
  /** FaceErrorCode -> snapshots. */
  errors: Record<string, number>;
}

/**
 * The `facepipe identify` run: plan (or re-plan) the run, enqueue its jobs, and with `wait` follow
 * them and summarise from the result files. Without `wait` it only enqueues: the report is what a
 * schedule job returns.
 */
export function runIdentify(
  config: AppConfig,
  options: IdentifyRunOptions & { wait?: false },
): Promise<IdentifyEnqueueReport>;
export function runIdentify(
  config: AppConfig,
  options: IdentifyRunOptions,
): Promise<IdentifyEnqueueReport | IdentifyRunSummary>;
export async function runIdentify(
  config: AppConfig,
  options: IdentifyRunOptions,
): Promise<IdentifyEnqueueReport | IdentifyRunSummary> {
  const started = performance.now();
  if (options.run !== undefined && !RUN_ID_PATTERN.test(options.run)) {
    throw new Error(
      `run id ${JSON.stringify(options.run)}: use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit)`,
    );
  }
  if (options.since !== undefined && !Number.isFinite(Date.parse(options.since)))
    throw new Error(`--since ${JSON.stringify(options.since)} is not an ISO 8601 time`);

  const storage = openStorage(config.storage);
  const source = openStorage(options.source);
  const sourceUrl = canonicalStorageUrl(source.url);
  const runs = new RunStore(storage);
  const results = new ResultStore(storage);
  const queue = new Queue<IdentifyJobData>(QUEUE_NAMES.identify, queueConnectionOptions(config));
  try {
    const producer = new IdentifyProducer(queue, {
      chunkSize: options.chunkSize ?? DEFAULT_IDENTIFY_CHUNK_SIZE,
      model: (options.model ?? BASE_MODEL).id,
      storageUrl: config.storage,
    });
    let record = options.run !== undefined ? await runs.get(options.run) : undefined;
    if (record !== undefined && record.source !== sourceUrl) {
      throw new Error(`run ${record.run} identifies ${record.source}, not ${sourceUrl}: choose another run id`);
    }
    if (record === undefined) {
      const since = options.since ?? (await lastWatermark(runs, results, sourceUrl));
      const items = await listSnapshots(source, since);
      const run = options.run ?? newRunId(sourceUrl);
      record = {
        run,
        source: sourceUrl,
        since,
        watermark: items.reduce<string | null>(
          (max, i) => (max === null || i.modified > max ? i.modified : max),
          since,
        ),
        snapshots: items.length,
        createdAt: new Date().toISOString(),
        jobs: producer.plan(run, sourceUrl, items),
      };
      // The plan is stored before any job exists: a producer killed half-way re-enqueues the same ids.
      await runs.save(record);
    }
    const { jobIds, ...enqueued } = await producer.enqueue(record, await results.inputKeys(record.run));
    const resultsPrefix = results.prefix(record.run);
    if (!options.wait) return { run: record.run, since: record.since, resultsPrefix, ...enqueued };

    const total = enqueued.enqueued + enqueued.alreadyQueued;
    options.onProgress?.({ done: 0, total, failed: 0, faces: 0 });
    await waitForJobs<IdentifyJobResult>(queue, jobIds, {
      abort: options.abort,
      onProgress: ({ completed }) => {
        const sum = { done: 0, failed: 0, faces: 0 };
        for (const r of completed.values()) {
          sum.done += r.snapshots;
          sum.failed += r.failed;
          sum.faces += r.faces;
        }
        options.onProgress?.({ ...sum, total });
      },
    });
    const summary = await summarize(results, record);
    if (summary.complete && record.completedAt === undefined)
      await runs.save({ ...record, completedAt: new Date().toISOString() });
    return { run: record.run, ...summary.counts, seconds: (performance.now() - started) / 1000, resultsPrefix };
  } finally {
    await queue.close();
  }
}

/** Images anywhere under the source, modified after `since`. */
async function listSnapshots(source: Storage, since: string | null): Promise<SnapshotItem[]> {
  const after = since === null ? -Infinity : Date.parse(since);
  const items: SnapshotItem[] = [];
  for await (const object of listAll(source, '')) {
    if (!hasImageExtension(object.key) || object.modified.getTime() <= after) continue;
    items.push({ key: object.key, etag: object.etag, size: object.size, modified: object.modified.toISOString() });
  }
  return items;
}

/**
 * Where a new run of this source starts: the watermark of its last completed run (null: from the
 * beginning). A run is complete once every snapshot has its result file; that is checked here
 * for runs not yet marked.
 */
async function lastWatermark(runs: RunStore, results: ResultStore, source: string): Promise<string | null> {
  for (const record of await runs.forSource(source)) {
    if (record.completedAt === undefined) {
      const done = await results.inputKeys(record.run);
      if (!record.jobs.every((job) => job.items.every((item) => done.has(item.key)))) {
        logger.warn(
          { run: record.run },
          'an earlier run of this source is not complete: its snapshots are offered again',
        );
        continue;
      }
      await runs.save({ ...record, completedAt: new Date().toISOString() });
    }
    return record.watermark;
  }
  return null;
}

/** '20261129T021500Z-<6 hex of the source>': sortable, and distinct for sources run at the same second. */
function newRunId(source: string): string {
  return `${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${shortHash(source, 6)}`;
}

async function summarize(results: ResultStore, record: IdentifyRunRecord) {
  const counts = { snapshots: 0, faces: 0, identified: 0, unknown: 0, failed: 0, errors: {} as Record<string, number> };
  const planned = new Set(record.jobs.flatMap((job) => job.items.map((item) => item.key)));
  let seen = 0;
  for await (const { result } of results.read(record.run)) {
    if (!planned.has(result.input.key)) continue;
    seen++;
    counts.snapshots++;
    if (result.error !== null) {
      counts.failed++;
      counts.errors[result.error.code] = (counts.errors[result.error.code] ?? 0) + 1;
    }
    for (const face of result.faces) {
      counts.faces++;
      if (face.personId !== null) counts.identified++;
      else counts.unknown++;
    }
  }
  // Snapshots without a result file (their job failed for good before writing it) count as failed.
  const missing = planned.size - seen;
  if (missing > 0) {
    counts.snapshots += missing;
    counts.failed += missing;
    counts.errors.NO_RESULT = missing;
  }
  return { counts, complete: missing === 0 };
}
