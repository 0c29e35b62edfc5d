import { Queue } from 'bullmq';
import type { AppConfig } from '../config/app-config.js';
import { BASE_MODEL, type EmbeddingModel } from '../engine/embedding-model.js';
import { hasImageExtension } from '../files/image-files.js';
import { logger } from '../logger.js';
import { waitForJobs } from '../queue/job-tracker.js';
import type { ProducerJobOptions } from '../queue/job-defaults.js';
import type { IdentifyEnqueueReport, IdentifyJobData, IdentifyJobResult, SnapshotItem } from '../queue/jobs.js';
import { logQueueErrors } from '../queue/log-queue-errors.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../queue/queue-names.js';
import { warnWaitingProducer } from '../queue/warn-without-workers.js';
import { ResultStore } from '../results/result-store.js';
import { isTransientResult } from '../results/transient-error.js';
import { listAll } from '../storage/list-all.js';
import { openSourceStorage, openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { compareKeys } from '../storage/compare-keys.js';
import { canonicalStorageUrl } from '../storage/storage-url.js';
import { shortHash } from '../util/short-hash.js';
import { IdentifyProducer } from './identify-producer.js';
import { PersonsSeen } from './persons-seen.js';
import { RunStore } from './run-store.js';
import { unsupported } from './enroll-items.js';
import { skippedFiles } from './skipped-files.js';
import { noImageError, requireSourceExists } from './source-check.js';
import {
  MAX_SUMMARY_FAILURES,
  type IdentifyRunRecord,
  type PersonSeen,
  type RunFailure,
  type SkippedFiles,
  type SkippedKey,
} from './types.js';

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
  /**
   * Refuse (SourceError) a source that does not exist or holds no image at all, for a new run. The
   * CLI sets it; a scheduled run does not (a camera prefix may be empty before its first upload).
   */
  requireImages?: boolean;
  /** While waiting: called once when no worker consumes the queue after `noWorkerWarningMs`. */
  onNoWorker?: (message: string) => void;
  /** Default NO_WORKER_WARNING_MS (15 s). */
  noWorkerWarningMs?: number;
  /** The identify jobs' options (attempts, backoff); default DEFAULT_JOB_OPTIONS. */
  jobOptions?: ProducerJobOptions;

  /** 1:N rule settings for this run's jobs, over the workers' own (flags of `facepipe identify`). */
  rule?: IdentifyJobData['rule'];
}

/** Without --wait: what was planned and enqueued, and the files of the source not read. */
export type IdentifyRunReport = IdentifyEnqueueReport & SkippedFiles;

export interface IdentifyRunSummary extends SkippedFiles {
  run: string;
  /** The run took the snapshots modified after this (null: all). */
  since: string | null;
  snapshots: number;
  faces: number;
  identified: number;
  unknown: number;
  failed: number;
  seconds: number;
  resultsPrefix: string;
  /** FaceErrorCode -> snapshots. */
  errors: Record<string, number>;
  /** The first MAX_SUMMARY_FAILURES failed snapshots, by key; `failed` counts them all. */
  failures: RunFailure[];
  /** Who was seen: per person, in how many snapshots, the first and the last; most snapshots first. */
  seen: PersonSeen[];
  /**
   * Every snapshot has a result that is not a transient outage's. False while some hit an outage
   * (INDEX_UNAVAILABLE, SOURCE_UNAVAILABLE: counted in `pending`) or have no result (NO_RESULT):
   * a re-run of the run, or the next run of the source, identifies them again.
   */
  complete: boolean;
  /** Snapshots whose result records a transient outage: to be identified again. */
  pending: number;
}

/**
 * The `facepipe identify` run: plan (or re-plan) the run, enqueue its jobs, and with `wait` follow
 * them and summarise from the result files. Without `wait` it only enqueues: the report is what a
 * schedule job returns.
 */
export function runIdentify(
  config: AppConfig,
  options: IdentifyRunOptions & { wait?: false },
): Promise<IdentifyRunReport>;
export function runIdentify(
  config: AppConfig,
  options: IdentifyRunOptions,
): Promise<IdentifyRunReport | IdentifyRunSummary>;
export async function runIdentify(
  config: AppConfig,
  options: IdentifyRunOptions,
): Promise<IdentifyRunReport | IdentifyRunSummary> {
  const started = performance.now();
  if (options.run !== undefined && !RUN_ID_PATTERN.test(options.run)) {
    throw new Error(
      `run id ${JSON.stringify(options.run)}: use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit)`,
    );
  }
  if (options.since !== undefined && !Number.isFinite(Date.parse(options.since)))
    throw new Error(`--since ${JSON.stringify(options.since)} is not an ISO 8601 time`);

  const storage = openStorage(config.storage);
  const source = openSourceStorage(options.source, config.followSymlinks);
  const sourceUrl = canonicalStorageUrl(source.url);
  const runs = new RunStore(storage);
  const results = new ResultStore(storage);
  const queue = new Queue<IdentifyJobData>(QUEUE_NAMES.identify, queueConnectionOptions(config));
  logQueueErrors(queue, config.redisUrl);
  try {
    const producer = new IdentifyProducer(queue, {
      chunkSize: options.chunkSize ?? DEFAULT_IDENTIFY_CHUNK_SIZE,
      model: (options.model ?? BASE_MODEL).id,
      storageUrl: config.storage,
      jobOptions: options.jobOptions,

      rule: options.rule,
    });
    let record = options.run !== undefined ? await runs.get(options.run) : undefined;
    if (record !== undefined && record.source !== sourceUrl) {
      throw new Error(`run ${record.run} identifies ${record.source}, not ${sourceUrl}: choose another run id`);
    }
    if (record === undefined) {
      const since = options.since ?? (await lastWatermark(runs, results, sourceUrl));
      if (options.requireImages) await requireSourceExists(source);
      const { items, objects, images, skipped } = await listSnapshots(source, since);
      if (options.requireImages && images === 0) throw noImageError(source, objects);
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
        skipped: skippedFiles(skipped),
      };
      for (const [code, n] of Object.entries(record.skipped?.skippedByCode ?? {}))
        logger.warn({ run, code, files: n }, `${n} file(s) of the source not read: ${code}`);
      // The plan is stored before any job exists: a producer killed half-way re-enqueues the same ids.
      await runs.save(record);
    }
    const { jobIds, ...enqueued } = await producer.enqueue(record, await results.doneInputKeys(record.run));
    const resultsPrefix = results.prefix(record.run);
    const skipped = record.skipped ?? { skippedByCode: {}, skippedFiles: [] };
    if (!options.wait) return { run: record.run, since: record.since, resultsPrefix, ...enqueued, ...skipped };

    const total = enqueued.enqueued + enqueued.alreadyQueued;
    options.onProgress?.({ done: 0, total, failed: 0, faces: 0 });
    const cancelWarning = warnWaitingProducer(queue, options);
    const tracked = await waitForJobs<IdentifyJobResult>(queue, jobIds, {
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
    }).finally(cancelWarning);
    const summary = await summarize(results, record, tracked.failed);
    if (summary.complete && record.completedAt === undefined)
      await runs.save({ ...record, completedAt: new Date().toISOString() });
    return {
      run: record.run,
      since: record.since,
      ...summary.counts,
      seconds: (performance.now() - started) / 1000,
      resultsPrefix,
      failures: summary.failures.slice(0, MAX_SUMMARY_FAILURES),
      seen: summary.seen,
      complete: summary.complete,
      pending: summary.pending,
      ...skipped,
    };
  } finally {
    await queue.close();
  }
}

/**
 * Images anywhere under the source modified after `since`, how many objects and images it holds in
 * all, and the files not read (of an unsupported type, or links refused) modified after `since`.
 */
async function listSnapshots(source: Storage, since: string | null) {
  const after = since === null ? -Infinity : Date.parse(since);
  const items: SnapshotItem[] = [];
  const skipped: SkippedKey[] = [];
  let objects = 0;
  let images = 0;
  for await (const object of listAll(source, '', undefined, (r) => skipped.push(r))) {
    objects++;
    if (!hasImageExtension(object.key)) {
      if (object.modified.getTime() > after) skipped.push(unsupported(object.key));
      continue;
    }
    images++;
    if (object.modified.getTime() <= after) continue;
    items.push({ key: object.key, etag: object.etag, size: object.size, modified: object.modified.toISOString() });
  }
  return { items, objects, images, skipped };
}

/**
 * Where a new run of this source starts: the watermark of its last completed run (null: from the
 * beginning). A run is complete once every snapshot has its result file; that is checked here
 * for runs not yet marked.
 */
async function lastWatermark(runs: RunStore, results: ResultStore, source: string): Promise<string | null> {
  for (const record of await runs.forSource(source)) {
    if (record.completedAt === undefined) {
      const done = await results.doneInputKeys(record.run);
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

async function summarize(results: ResultStore, record: IdentifyRunRecord, failedJobs: Map<string, string>) {
  const counts = { snapshots: 0, faces: 0, identified: 0, unknown: 0, failed: 0, errors: {} as Record<string, number> };
  let pending = 0;
  const failures: RunFailure[] = [];
  const seen = new PersonsSeen();
  const planned = new Set(record.jobs.flatMap((job) => job.items.map((item) => item.key)));
  const done = new Set<string>();
  for await (const { result } of results.read(record.run)) {
    if (!planned.has(result.input.key)) continue;
    done.add(result.input.key);
    counts.snapshots++;
    if (result.error !== null) {
      counts.failed++;
      counts.errors[result.error.code] = (counts.errors[result.error.code] ?? 0) + 1;
      failures.push({ key: result.input.key, code: result.error.code, message: result.error.message });
      if (isTransientResult(result)) pending++;
    }
    for (const face of result.faces) {
      counts.faces++;
      if (face.personId !== null) counts.identified++;
      else counts.unknown++;
    }
    seen.add(result);
  }
  // Snapshots without a result file (their job failed for good before writing it) count as failed.
  for (const job of record.jobs) {
    for (const item of job.items) {
      if (done.has(item.key)) continue;
      done.add(item.key);
      counts.snapshots++;
      counts.failed++;
      counts.errors.NO_RESULT = (counts.errors.NO_RESULT ?? 0) + 1;
      const reason = failedJobs.get(job.jobId);
      failures.push({
        key: item.key,
        code: 'NO_RESULT',
        message:
          reason !== undefined
            ? `its identify job failed: ${reason}`
            : 'no result file: its identify job has not written it (see the worker log)',
      });
    }
  }
  failures.sort((a, b) => compareKeys(a.key, b.key));
  const complete = counts.errors.NO_RESULT === undefined && pending === 0;
  return { counts, failures, seen: seen.list(), complete, pending };
}
