import { logger } from '../logger.js';
import { Queue } from 'bullmq';
import { BASE_MODEL, type EmbeddingModel } from '../engine/embedding-model.js';
import { GalleryStore } from '../gallery/gallery-store.js';
import type { AppConfig } from '../config/app-config.js';
import { waitForJobs } from '../queue/job-tracker.js';
import type { EnrollItem, EnrollJobData, EnrollJobResult } from '../queue/jobs.js';
import { logQueueErrors } from '../queue/log-queue-errors.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../queue/queue-names.js';
import { warnWaitingProducer } from '../queue/warn-without-workers.js';
import { openSourceStorage, openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { compareKeys } from '../storage/compare-keys.js';
import { canonicalStorageUrl } from '../storage/storage-url.js';
import { listEnrollItems } from './enroll-items.js';
import { EnrollProducer } from './enroll-producer.js';
import { skippedFiles } from './skipped-files.js';
import { noImageError, requireSourceExists, sourceName } from './source-check.js';
import { SourceError } from './source-error.js';
import {
  MAX_SUMMARY_FAILURES,
  type EnqueueSummary,
  type EnrollListing,
  type InvalidPersonKey,
  type ManifestEntry,
  type MissingKey,
  type RunFailure,
  type SkippedFiles,
} from './types.js';

export const DEFAULT_CHUNK_SIZE = 8;

export interface EnrollRunOptions {
  /** Folder or S3 URL of the images. */
  source: string;
  manifest?: ManifestEntry[];
  chunkSize?: number;
  /** Wait until every job finished, then summarise from the gallery. */
  wait?: boolean;
  /** While waiting: images finished (enrolled or failed) of those enqueued, and faces detected. */
  onProgress?: (progress: { done: number; total: number; failed: number; faces: number }) => void;
  abort?: AbortSignal;
  /** The deployment's embedding model (default: the engine's, without adapter): names its gallery. */
  model?: EmbeddingModel;
  /** While waiting: called once when no worker consumes the queue after `noWorkerWarningMs`. */
  onNoWorker?: (message: string) => void;
  /** Default NO_WORKER_WARNING_MS (15 s). */
  noWorkerWarningMs?: number;
}

/** Without --wait: what was listed and enqueued. */
export interface EnrollEnqueueReport extends Omit<EnqueueSummary, 'jobIds'>, SkippedFiles {
  skipped: number;
  missing: number;
  /** Manifest lines or folders refused for their person id (INVALID_PERSON_ID). */
  invalid: number;
}

/** With --wait: the state of every listed image in the gallery once the jobs finished. */
export interface EnrollRunSummary extends SkippedFiles {
  images: number;
  enrolled: number;
  failed: number;
  persons: number;
  errors: Record<string, number>;
  seconds: number;
  /** Images of this run's jobs (the rest were enrolled or failed earlier). */
  enqueued: number;
  /** Images whose face the gallery held already. */
  alreadyEnrolled: number;
  /** The first MAX_SUMMARY_FAILURES failed images, by key; `failed` counts them all. */
  failures: RunFailure[];
}

/**
 * The `facepipe enroll` run: list the source (folder layout or manifest), enqueue what the gallery
 * does not hold yet, and with `wait` follow the jobs and report from the gallery itself, so the
 * summary is the same whichever run did the work.
 */
export async function runEnroll(
  config: AppConfig,
  options: EnrollRunOptions,
): Promise<EnrollEnqueueReport | EnrollRunSummary> {
  const started = performance.now();
  const source = openSourceStorage(options.source, config.followSymlinks);
  const model = options.model ?? BASE_MODEL;
  const gallery = new GalleryStore(openStorage(config.storage), model.id);
  const queue = new Queue<EnrollJobData>(QUEUE_NAMES.enroll, queueConnectionOptions(config));
  logQueueErrors(queue, config.redisUrl);
  try {
    await requireSourceExists(source);
    const listing = await listEnrollItems(source, { manifest: options.manifest });
    if (options.manifest === undefined && listing.invalid.length === 0) requireEnrollable(source, listing);
    // Each refused line or folder is named once, where the user sees it; the run goes on without it.
    for (const { reason, code } of listing.invalid)
      logger.warn({ code: code ?? 'INVALID_PERSON_ID' }, `not enrolled: ${reason}`);
    const skipped = skippedFiles(listing.skipped);
    const producer = new EnrollProducer(queue, gallery, {
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      model: model.id,
      storageUrl: config.storage,
      sourceUrl: source.url,
    });
    const { jobIds, ...enqueued } = await producer.enqueue(listing.items);
    if (!options.wait)
      return {
        ...enqueued,
        skipped: listing.skipped.length,
        missing: listing.missing.length,
        invalid: listing.invalid.length,
        ...skipped,
      };

    const total = enqueued.enqueued + enqueued.alreadyQueued;
    options.onProgress?.({ done: 0, total, failed: 0, faces: 0 });
    const cancelWarning = warnWaitingProducer(queue, options);
    const tracked = await waitForJobs<EnrollJobResult>(queue, jobIds, {
      abort: options.abort,
      onProgress: ({ completed, failed }) => {
        let done = 0;
        let failedImages = 0;
        let faces = 0;
        for (const result of completed.values()) {
          done += result.images;
          failedImages += result.failed;
          faces += result.facesDetected;
        }
        options.onProgress?.({
          done: done + failed.size * (options.chunkSize ?? DEFAULT_CHUNK_SIZE),
          total,
          failed: failedImages,
          faces,
        });
      },
    }).finally(cancelWarning);
    const summary = await summarize(
      gallery,
      source,
      listing.items,
      listing.missing,
      listing.invalid,
      await jobFailures(queue, tracked.failed),
    );
    return {
      ...summary,
      seconds: (performance.now() - started) / 1000,
      enqueued: enqueued.enqueued + enqueued.alreadyQueued,
      alreadyEnrolled: enqueued.alreadyEnrolled,
      ...skipped,
    };
  } finally {
    await queue.close();
  }
}

/**
 * A folder-layout source with nothing to enroll: empty, no image at all, or images that are not in
 * a `<personId>/` folder (with the first reason, so the user sees what layout was expected).
 */
function requireEnrollable(source: Storage, listing: EnrollListing): void {
  if (listing.items.length > 0) return;
  const images = listing.skipped.filter((s) => s.code === 'OUTSIDE_LAYOUT');
  if (images.length === 0) throw noImageError(source, listing.skipped.length);
  throw new SourceError(
    `source ${sourceName(source)}: none of its ${images.length} image(s) is in a <personId>/ folder ` +
      `(expected <source>/<personId>/<image>; ${images[0].key}: ${images[0].reason})`,
  );
}

/** Why each image of a job that failed for good was not enrolled: the job's failure reason, by image key. */
async function jobFailures(queue: Queue<EnrollJobData>, failed: Map<string, string>): Promise<Map<string, string>> {
  const byKey = new Map<string, string>();
  for (const [jobId, reason] of failed) {
    const job = await queue.getJob(jobId);
    for (const item of job?.data.items ?? []) byKey.set(item.key, reason);
  }
  return byKey;
}

/** Each listed image as the gallery sees it now: enrolled, failed with a recorded code, or neither. */
async function summarize(
  gallery: GalleryStore,
  source: Storage,
  items: EnrollItem[],
  missing: MissingKey[],
  invalid: InvalidPersonKey[],
  jobFailure: Map<string, string>,
) {
  const sourceUrl = canonicalStorageUrl(source.url);
  const version = (key: string, etag: string, personId: string) => JSON.stringify([key, etag, personId]);
  const [records, recorded] = await Promise.all([gallery.readAll(), gallery.readFailures()]);
  const enrolled = new Set<string>();
  for (const r of records) if (r.source === sourceUrl) enrolled.add(version(r.sourceKey, r.sourceEtag, r.personId));
  const failedWith = new Map<string, { code: string; message: string }>();
  for (const f of recorded)
    if (f.source === sourceUrl) failedWith.set(version(f.sourceKey, f.sourceEtag, f.personId), f);

  const errors: Record<string, number> = {};
  const failures: RunFailure[] = [];
  const fail = (failure: RunFailure) => {
    errors[failure.code] = (errors[failure.code] ?? 0) + 1;
    failures.push(failure);
  };
  const persons = new Set<string>();
  let enrolledImages = 0;
  for (const item of items) {
    const v = version(item.key, item.etag, item.personId);
    if (enrolled.has(v)) {
      enrolledImages++;
      persons.add(item.personId);
      continue;
    }
    const recordedFailure = failedWith.get(v);
    const reason = jobFailure.get(item.key);
    fail({
      key: item.key,
      personId: item.personId,
      code: recordedFailure?.code ?? 'NOT_ENROLLED',
      message:
        recordedFailure?.message ??
        (reason !== undefined
          ? `its enroll job failed: ${reason}`
          : 'its enroll job ended without a gallery record (see the worker log)'),
    });
  }
  for (const m of missing)
    fail({
      key: m.key,
      personId: m.personId,
      code: 'MISSING_FILE',
      message: `manifest line ${m.line}: no such key in the source`,
    });
  for (const bad of invalid) fail({ key: bad.key, code: bad.code ?? 'INVALID_PERSON_ID', message: bad.reason });
  const images = items.length + missing.length + invalid.length;
  failures.sort((a, b) => compareKeys(a.key, b.key));
  return {
    images,
    enrolled: enrolledImages,
    failed: images - enrolledImages,
    persons: persons.size,
    errors,
    failures: failures.slice(0, MAX_SUMMARY_FAILURES),
  };
}
