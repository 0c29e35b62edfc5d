import { logger } from '../logger.js';
import { Queue } from 'bullmq';
import { BASE_MODEL, type EmbeddingModel } from '../engine/embedding-model.js';
import { GalleryStore } from '../gallery/gallery-store.js';
import type { AppConfig } from '../config/app-config.js';
import { waitForJobs } from '../queue/job-tracker.js';
import type { EnrollItem, EnrollJobData, EnrollJobResult } from '../queue/jobs.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../queue/queue-names.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { canonicalStorageUrl } from '../storage/storage-url.js';
import { listEnrollItems } from './enroll-items.js';
import { EnrollProducer } from './enroll-producer.js';
import type { EnqueueSummary, ManifestEntry } from './types.js';

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
}

/** Without --wait: what was listed and enqueued. */
export interface EnrollEnqueueReport extends Omit<EnqueueSummary, 'jobIds'> {
  skipped: number;
  missing: number;
  /** Manifest lines or folders refused for their person id (INVALID_PERSON_ID). */
  invalid: number;
}

/** With --wait: the state of every listed image in the gallery once the jobs finished. */
export interface EnrollRunSummary {
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
  const source = openStorage(options.source);
  const model = options.model ?? BASE_MODEL;
  const gallery = new GalleryStore(openStorage(config.storage), model.id);
  const queue = new Queue<EnrollJobData>(QUEUE_NAMES.enroll, queueConnectionOptions(config));
  try {
    const listing = await listEnrollItems(source, { manifest: options.manifest });
    // Each refused line or folder is named once, where the user sees it; the run goes on without it.
    for (const { reason } of listing.invalid) logger.warn({ code: 'INVALID_PERSON_ID' }, `not enrolled: ${reason}`);
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
      };

    const total = enqueued.enqueued + enqueued.alreadyQueued;
    options.onProgress?.({ done: 0, total, failed: 0, faces: 0 });
    await waitForJobs<EnrollJobResult>(queue, jobIds, {
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
    });
    const summary = await summarize(gallery, source, listing.items, listing.missing.length, listing.invalid.length);
    return {
      ...summary,
      seconds: (performance.now() - started) / 1000,
      enqueued: enqueued.enqueued + enqueued.alreadyQueued,
      alreadyEnrolled: enqueued.alreadyEnrolled,
    };
  } finally {
    await queue.close();
  }
}

/** Each listed image as the gallery sees it now: enrolled, failed with a recorded code, or neither. */
async function summarize(
  gallery: GalleryStore,
  source: Storage,
  items: EnrollItem[],
  missing: number,
  invalid: number,
) {
  const sourceUrl = canonicalStorageUrl(source.url);
  const version = (key: string, etag: string, personId: string) => JSON.stringify([key, etag, personId]);
  const [records, failures] = await Promise.all([gallery.readAll(), gallery.readFailures()]);
  const enrolled = new Set<string>();
  for (const r of records) if (r.source === sourceUrl) enrolled.add(version(r.sourceKey, r.sourceEtag, r.personId));
  const failedCode = new Map<string, string>();
  for (const f of failures)
    if (f.source === sourceUrl) failedCode.set(version(f.sourceKey, f.sourceEtag, f.personId), f.code);

  const errors: Record<string, number> = {};
  const count = (code: string, n = 1) => (errors[code] = (errors[code] ?? 0) + n);
  const persons = new Set<string>();
  let enrolledImages = 0;
  for (const item of items) {
    const v = version(item.key, item.etag, item.personId);
    if (enrolled.has(v)) {
      enrolledImages++;
      persons.add(item.personId);
    } else count(failedCode.get(v) ?? 'NOT_ENROLLED');
  }
  if (missing > 0) count('MISSING_FILE', missing);
  if (invalid > 0) count('INVALID_PERSON_ID', invalid);
  const images = items.length + missing + invalid;
  return { images, enrolled: enrolledImages, failed: images - enrolledImages, persons: persons.size, errors };
}
