import type { JobsOptions, Queue } from 'bullmq';
import type { GalleryStore } from '../gallery/gallery-store.js';
import { compareKeys } from '../storage/compare-keys.js';
import { storageTag } from '../queue/queue-names.js';
import { canonicalStorageUrl } from '../storage/storage-url.js';
import { shortHash } from '../util/short-hash.js';
import { forEachConcurrent } from '../util/for-each-concurrent.js';
import type { EnqueueSummary } from './types.js';
import { DEFAULT_JOB_OPTIONS, PENDING_STATES, type ProducerJobOptions } from '../queue/job-defaults.js';
import type { EnrollItem, EnrollJobData } from '../queue/jobs.js';

export interface EnrollProducerOptions {
  /** Images per job (>= 1). */
  chunkSize: number;
  /** FACE_MODEL.id; must be the gallery's model. */
  model: string;
  /** The deployment's storage (AppConfig.storage): the one holding the gallery. */
  storageUrl: string;
  /** The storage the image keys are read from (Storage.url of the source). */
  sourceUrl: string;
  /** Job options; defaults: 5 attempts, exponential backoff from 5 s, finished jobs kept a while. */
  jobOptions?: ProducerJobOptions;
}

/**
 * Adds enroll jobs for images not yet in this deployment's gallery, `chunkSize` images per job.
 *
 * "Already done" is what the gallery holds (a record, or a recorded permanent failure such as
 * NO_FACE, with the same source, key, etag and personId), not what Redis remembers: an image is
 * offered again when its etag changed, or when its earlier job finished (completed or failed)
 * without leaving either in the gallery (such a finished job is removed so its id can be reused).
 *
 * Job ids are deterministic: 'enroll-<storage tag>-<hash>' over the deployment's storage URL, the
 * source URL, the model and the chunk's sorted (key, etag, personId) list (no ':', never an integer
 * string). Running the same command twice adds nothing while the first run's jobs are pending, and
 * nothing once their images are in the gallery.
 */
export class EnrollProducer {
  private readonly storageUrl: string;
  private readonly sourceUrl: string;
  private readonly tag: string;

  constructor(
    private readonly queue: Queue<EnrollJobData>,
    private readonly gallery: GalleryStore,
    private readonly options: EnrollProducerOptions,
  ) {
    if (!Number.isInteger(options.chunkSize) || options.chunkSize < 1)
      throw new RangeError(`chunkSize must be a positive integer, got ${options.chunkSize}`);
    if (gallery.model !== options.model) {
      throw new Error(
        `the gallery is of model ${JSON.stringify(gallery.model)}, the producer enrolls with ${JSON.stringify(options.model)}`,
      );
    }
    this.storageUrl = canonicalStorageUrl(options.storageUrl);
    this.sourceUrl = canonicalStorageUrl(options.sourceUrl);
    this.tag = storageTag(options.storageUrl);
  }

  async enqueue(items: readonly EnrollItem[]): Promise<EnqueueSummary> {
    const [records, failures] = await Promise.all([this.gallery.readAll(), this.gallery.readFailures()]);
    const enrolled = new Set<string>();
    for (const record of records) {
      if (record.source === this.sourceUrl)
        enrolled.add(versionKey(record.sourceKey, record.sourceEtag, record.personId));
    }
    const failed = new Set<string>();
    for (const failure of failures) {
      if (failure.source === this.sourceUrl)
        failed.add(versionKey(failure.sourceKey, failure.sourceEtag, failure.personId));
    }

    const summary: EnqueueSummary = {
      images: items.length,
      alreadyEnrolled: 0,
      alreadyFailed: 0,
      alreadyQueued: 0,
      enqueued: 0,
      jobs: 0,
      jobIds: [],
    };
    const todo: EnrollItem[] = [];
    for (const item of items) {
      const version = versionKey(item.key, item.etag, item.personId);
      if (enrolled.has(version)) summary.alreadyEnrolled++;
      else if (failed.has(version)) summary.alreadyFailed++;
      else todo.push(item);
    }
    todo.sort((a, b) => compareKeys(a.key, b.key) || compareKeys(a.etag, b.etag));

    const chunks: EnrollItem[][] = [];
    for (let start = 0; start < todo.length; start += this.options.chunkSize)
      chunks.push(todo.slice(start, start + this.options.chunkSize));
    const planned = chunks.map((chunk) => ({ chunk, jobId: this.jobIdFor(chunk), state: 'unknown' }));
    await forEachConcurrent(planned, 32, async (plan) => {
      plan.state = await this.queue.getJobState(plan.jobId);
    });

    const jobs: { name: string; data: EnrollJobData; opts: JobsOptions }[] = [];
    for (const { chunk, jobId, state } of planned) {
      summary.jobIds.push(jobId);
      if (PENDING_STATES.has(state)) {
        summary.alreadyQueued += chunk.length;
        continue;
      }
      // A finished job with this id, yet its images are not in the gallery: run it again.
      if (state !== 'unknown') await this.queue.remove(jobId);
      jobs.push({
        name: 'enroll',
        data: { storageUrl: this.storageUrl, sourceUrl: this.sourceUrl, model: this.options.model, items: chunk },
        opts: { ...DEFAULT_JOB_OPTIONS, ...this.options.jobOptions, jobId },
      });
      summary.enqueued += chunk.length;
    }
    if (jobs.length > 0) await this.queue.addBulk(jobs);
    summary.jobs = jobs.length;
    return summary;
  }

  /** 'enroll-<12 hex storage tag>-<32 hex>': deterministic, no ':', never an integer string. */
  jobIdFor(chunk: readonly EnrollItem[]): string {
    const versions = chunk
      .map((item) => [item.key, item.etag, item.personId])
      .sort((a, b) => compareKeys(a[0], b[0]) || compareKeys(a[1], b[1]));
    const input = JSON.stringify([this.storageUrl, this.sourceUrl, this.options.model, versions]);
    return `enroll-${this.tag}-${shortHash(input, 32)}`;
  }
}

function versionKey(key: string, etag: string, personId: string): string {
  return JSON.stringify([key, etag, personId]);
}
