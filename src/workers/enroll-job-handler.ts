import { enrollmentFlags } from '../identification/enrollment-flags.js';
import type { FaceAnalyzer } from '../engine/face-analyzer.js';
import { FaceError } from '../errors/face-error.js';
import { faceIdFor } from '../gallery/face-id.js';
import type { EnrollFailure, GalleryRecord } from '../gallery/gallery-record.js';
import { GalleryStore } from '../gallery/gallery-store.js';
import { ChangeLog } from '../queue/change-log.js';
import type { EnrollItem, EnrollJobData, EnrollJobResult } from '../queue/jobs.js';
import { changeLogKey } from '../queue/queue-names.js';
import { openSourceStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import type { JobProcessor, WorkerContext } from './job-kind.js';
import { JobSources } from './job-sources.js';

export interface EnrollJobHandlerDeps {
  analyzer: FaceAnalyzer;
  /** The deployment's gallery (its storage and model). */
  gallery: GalleryStore;
  changeLog: ChangeLog;
  /** The deployment's storage URL: a job of another deployment is refused. */
  storageUrl: string;
  /** Opens a source storage by URL (default openStorage). */
  openSource?: (url: string) => Storage;
  now?: () => Date;
}

type ItemOutcome = { record: GalleryRecord; facesDetected: number } | { failure: EnrollFailure };

/**
 * One enroll job: fetch, decode, detect, embed the largest face of each image (through the engine,
 * whose micro-batcher merges the faces of concurrent jobs), write the gallery, publish the change.
 *
 * Idempotent, so that a retried or stalled-and-rerun job never doubles anything: face ids and the
 * segment and failures object names derive from the job, so a rerun rewrites the same objects; the
 * index service applies a segment by face id.
 *
 * Expected outcomes (bad image, no face, missing key) end as per-image failures in the result and in
 * the gallery's failures; anything else (storage or Redis unreachable, engine crash) throws, and
 * BullMQ retries the job with backoff up to its attempts.
 */
export class EnrollJobHandler {
  private readonly sources: JobSources;
  private readonly now: () => Date;

  constructor(private readonly deps: EnrollJobHandlerDeps) {
    // The deps carry storageUrl and openSource under JobSources' own names.
    this.sources = new JobSources({ ...deps, model: deps.gallery.model, verb: 'enrolls' });
    this.now = deps.now ?? (() => new Date());
  }

  async handle(jobId: string, data: EnrollJobData): Promise<EnrollJobResult> {
    const source = this.sources.open(jobId, data);
    const outcomes = await Promise.all(data.items.map((item) => this.enrollOne(source, data, item)));

    const records: GalleryRecord[] = [];
    const failures: EnrollFailure[] = [];
    const result: EnrollJobResult = { images: data.items.length, enrolled: 0, failed: 0, facesDetected: 0, errors: {} };
    for (const outcome of outcomes) {
      if ('failure' in outcome) {
        failures.push(outcome.failure);
        result.failed++;
        result.errors[outcome.failure.code] = (result.errors[outcome.failure.code] ?? 0) + 1;
      } else {
        records.push(outcome.record);
        result.enrolled++;
        result.facesDetected += outcome.facesDetected;
      }
    }

    // The job id names both objects: a rerun overwrites them instead of adding copies.
    await this.deps.gallery.appendFailures(failures, { segmentId: jobId });
    if (records.length > 0) {
      result.segment = await this.deps.gallery.append(records, { segmentId: jobId });
      await this.deps.changeLog.publish({ type: 'segment', key: result.segment });
    }
    return result;
  }

  private async enrollOne(source: Storage, data: EnrollJobData, item: EnrollItem): Promise<ItemOutcome> {
    const fail = (code: string, message: string): ItemOutcome => ({
      failure: {
        source: data.sourceUrl,
        sourceKey: item.key,
        sourceEtag: item.etag,
        personId: item.personId,
        code,
        message,
        failedAt: this.now().toISOString(),
      },
    });

    let bytes: Uint8Array;
    try {
      bytes = await source.get(item.key);
    } catch (err) {
      // Missing, or a link the source refuses (SYMLINK_REFUSED): that image fails alone.
      if (FaceError.isFaceError(err)) return fail(err.code, err.message);
      throw err; // transient: the job is retried
    }

    let analysis: Awaited<ReturnType<FaceAnalyzer['analyze']>>;
    try {
      analysis = await this.deps.analyzer.analyze({ bytes, name: item.key }, { largestOnly: true });
    } catch (err) {
      // ENGINE_FAILURE is the engine's own fault, not the image's: retry the job.
      if (FaceError.isFaceError(err) && err.code !== 'ENGINE_FAILURE') return fail(err.code, err.message);
      throw err;
    }
    const face = analysis.faces[0];
    if (face === undefined) return fail('NO_FACE', `no face found in ${item.key}`);

    const record: GalleryRecord = {
      faceId: faceIdFor(data.sourceUrl, item.key, item.etag, data.model),
      personId: item.personId,
      source: data.sourceUrl,
      sourceKey: item.key,
      sourceEtag: item.etag,
      box: roundBox(face.box),
      landmarks: face.landmarks.map(([x, y]) => [round1(x), round1(y)]),
      score: Number(face.score.toFixed(4)),
      model: data.model,
      // 7 significant digits: below float32 noise for distances, about half the JSON of full doubles.
      embedding: Array.from(face.embedding, (v) => Number(v.toPrecision(7))),
      enrolledAt: this.now().toISOString(),
    };
    if (item.name !== undefined) record.name = item.name;
    const flags = enrollmentFlags({ score: face.score, quality: face.quality, facesDetected: analysis.facesDetected });
    if (flags.length > 0) record.flags = flags;
    if (analysis.facesDetected > 1)
      record.warnings = [`${analysis.facesDetected} faces in the image; enrolled the largest`];
    return { record, facesDetected: analysis.facesDetected };
  }
}

/** The enroll queue's handler, on the deployment's gallery and change log. */
export function createEnrollProcessor({ config, analyzer, storage, redis }: WorkerContext): JobProcessor<'enroll'> {
  const { model } = analyzer;
  const handler = new EnrollJobHandler({
    analyzer,
    gallery: new GalleryStore(storage, model.id),
    changeLog: new ChangeLog(redis, changeLogKey(config, model.id)),
    storageUrl: config.storage,
    openSource: (url) => openSourceStorage(url, config.followSymlinks),
  });
  return (job) => handler.handle(job.id!, job.data);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function roundBox(box: GalleryRecord['box']): GalleryRecord['box'] {
  return { x: round1(box.x), y: round1(box.y), width: round1(box.width), height: round1(box.height) };
}
