import type { Job } from 'bullmq';
import { Counter, type Histogram, type Registry } from 'prom-client';
import type { FaceAnalyzer } from '../engine/face-analyzer.js';
import type { StageTimings } from '../engine/stage-timings.js';
import { FaceError } from '../errors/face-error.js';
import { logger } from '../logger.js';
import type { QueueName } from '../queue/queue-names.js';
import { METRIC_PREFIX, sharedHistogram, sharedMetric } from '../util/metrics-registry.js';
import type { JobProcessor } from './job-kind.js';

/** What one finished job did, whatever its queue: the log line and the counters. */
export interface JobSummary {
  /** Images (enroll) or snapshots (identify) the job covered; 0 for jobs that read none. */
  images: number;
  faces: number;
  /** Error code -> images that failed for good. */
  failures: Record<string, number>;
}

/** Seconds: a schedule job takes milliseconds, an enroll job of 50 images tens of seconds. */
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320];

/** Seconds per image: a portrait's detection takes tens of ms, a large scene's several seconds. */
const ENGINE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];

/**
 * A worker process's job metrics: completed and failed jobs per queue (failed by error code, and
 * whether BullMQ will retry), images, faces (rate() of it is faces per second) and image failures by
 * code, job durations, and the engine's detect and embed latency per image (observeAnalyzer).
 */
export class JobMetrics {
  private readonly completed: Counter<'queue'>;
  private readonly failed: Counter<'queue' | 'code' | 'final'>;
  private readonly duration: Histogram<'queue' | 'outcome'>;
  private readonly images: Counter<'queue'>;
  private readonly faces: Counter<'queue'>;
  private readonly imageFailures: Counter<'queue' | 'code'>;
  private readonly detectSeconds: Histogram<never>;
  private readonly embedSeconds: Histogram<never>;

  constructor(registry: Registry) {
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      sharedMetric(
        registry,
        METRIC_PREFIX + name,
        () => new Counter<L>({ name: METRIC_PREFIX + name, help, labelNames, registers: [registry] }),
      );
    this.completed = counter('jobs_completed_total', 'Jobs that completed, by queue', ['queue']);
    this.failed = counter('jobs_failed_total', 'Job attempts that threw, by queue, error code and whether final', [
      'queue',
      'code',
      'final',
    ]);
    this.images = counter('job_images_total', 'Images (enroll) and snapshots (identify) of completed jobs', ['queue']);
    this.faces = counter('faces_total', 'Faces detected in completed jobs (rate() gives faces per second)', ['queue']);
    this.imageFailures = counter('job_image_failures_total', 'Images of completed jobs that failed, by error code', [
      'queue',
      'code',
    ]);
    this.duration = sharedHistogram(registry, 'job_duration_seconds', {
      help: 'Job run time on this worker by queue and outcome (stands in for detect+embed latency)',
      labelNames: ['queue', 'outcome'],
      buckets: JOB_BUCKETS,
    });
    this.detectSeconds = sharedHistogram(registry, 'engine_detect_seconds', {
      help: 'Engine time per image to decode, detect, landmark and align (summed over its stages)',
      labelNames: [],
      buckets: ENGINE_BUCKETS,
    });
    this.embedSeconds = sharedHistogram(registry, 'engine_embed_seconds', {
      help: "Engine time per image to embed its faces (each face's share of its batch)",
      labelNames: [],
      buckets: ENGINE_BUCKETS,
    });
  }

  /** The analyzer, with the engine's stage timings of every image it analyzes observed. */
  observeAnalyzer(analyzer: FaceAnalyzer): FaceAnalyzer {
    return {
      model: analyzer.model,
      ...(analyzer.backend === undefined ? {} : { backend: analyzer.backend }),
      analyze: async (input, options) => {
        const analysis = await analyzer.analyze(input, options);
        if (analysis.timings) this.observeTimings(analysis.timings);
        return analysis;
      },
    };
  }

  /** One image's timings: the embed.* stages into the embed histogram, the others into detect. */
  observeTimings(timings: StageTimings): void {
    let detect = 0;
    let embed = 0;
    let embedded = false;
    for (const [stage, ms] of Object.entries(timings)) {
      if (stage === 'embed' || stage.startsWith('embed.')) {
        embed += ms;
        embedded = true;
      } else detect += ms;
    }
    this.detectSeconds.observe(detect / 1000);
    if (embedded) this.embedSeconds.observe(embed / 1000);
  }

  /**
   * The processor, counted, timed and logged: one info line per completed job (images, faces,
   * failures by code, seconds). A failed attempt is logged by the worker's 'failed' event, which
   * also sees jobs failed for stalling.
   */
  instrument<Q extends QueueName>(queue: Q, processor: JobProcessor<Q>): JobProcessor<Q> {
    return async (job) => {
      const started = performance.now();
      try {
        const result = await processor(job);
        const seconds = (performance.now() - started) / 1000;
        const summary = summarizeJobResult(result);
        this.completed.inc({ queue });
        this.duration.observe({ queue, outcome: 'completed' }, seconds);
        this.images.inc({ queue }, summary.images);
        this.faces.inc({ queue }, summary.faces);
        for (const [code, n] of Object.entries(summary.failures)) this.imageFailures.inc({ queue, code }, n);
        logger.info(
          { queue, jobId: job.id, ...summary, seconds: round3(seconds) },
          `${queue} job ${job.id}: ${summary.images} images, ${summary.faces} faces, ` +
            `${describeFailures(summary.failures)}, ${seconds.toFixed(1)} s`,
        );
        return result;
      } catch (err) {
        const seconds = (performance.now() - started) / 1000;
        const code = jobErrorCode(err);
        const final = isFinalAttempt(job);
        this.failed.inc({ queue, code, final: String(final) });
        this.duration.observe({ queue, outcome: 'failed' }, seconds);
        throw err;
      }
    };
  }
}

/** The counts a job result carries, read from the fields the queues' results have (src/queue/jobs.ts). */
export function summarizeJobResult(result: unknown): JobSummary {
  const r = (result ?? {}) as Record<string, unknown>;
  const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const failures: Record<string, number> = {};
  if (typeof r.errors === 'object' && r.errors !== null) {
    for (const [code, n] of Object.entries(r.errors)) if (num(n) > 0) failures[code] = num(n);
  }
  // A result that counts failures but not their codes: counted under UNKNOWN, never dropped.
  const named = Object.values(failures).reduce((a, b) => a + b, 0);
  if (num(r.failed) > named) failures.UNKNOWN = num(r.failed) - named;
  return {
    images: num(r.images ?? r.snapshots),
    faces: num(r.facesDetected ?? r.faces),
    failures,
  };
}

function describeFailures(failures: Record<string, number>): string {
  const entries = Object.entries(failures);
  if (entries.length === 0) return 'no failures';
  return `failed ${entries.map(([code, n]) => `${code} ${n}`).join(', ')}`;
}

/** A FaceError's code, else a string `code` the error carries (IndexServiceError, ECONNREFUSED), else INTERNAL. */
export function jobErrorCode(err: unknown): string {
  if (FaceError.isFaceError(err)) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(code) ? code : 'INTERNAL';
}

function isFinalAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
