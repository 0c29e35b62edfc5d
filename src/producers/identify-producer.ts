import type { JobsOptions, Queue } from 'bullmq';
import { storageTag } from '../queue/queue-names.js';
import { canonicalStorageUrl } from '../storage/storage-url.js';
import { compareKeys } from '../storage/compare-keys.js';
import { forEachConcurrent } from '../util/for-each-concurrent.js';
import { shortHash } from '../util/short-hash.js';
import type { IdentifyRunRecord } from './types.js';
import { DEFAULT_JOB_OPTIONS, PENDING_STATES, type ProducerJobOptions } from '../queue/job-defaults.js';
import type { IdentifyEnqueueSummary, IdentifyJobData, SnapshotItem } from '../queue/jobs.js';

export interface IdentifyProducerOptions {
  chunkSize: number;
  model: string;
  /** The deployment's storage (holds results and runs). */
  storageUrl: string;
  jobOptions?: ProducerJobOptions;
  /** The run's 1:N rule settings, carried by every job (IdentifyJobData.rule). */
  rule?: IdentifyJobData['rule'];
}

/**
 * Plans a run's identify jobs (chunks of snapshots, job ids deterministic per run) and enqueues
 * the planned jobs whose snapshots lack results and that are not already pending: a re-run of
 * the same run adds nothing while its jobs run, and only what was lost after.
 */
export class IdentifyProducer {
  private readonly storageUrl: string;
  private readonly tag: string;

  constructor(
    private readonly queue: Queue<IdentifyJobData>,
    private readonly options: IdentifyProducerOptions,
  ) {
    if (!Number.isInteger(options.chunkSize) || options.chunkSize < 1)
      throw new RangeError(`chunkSize must be a positive integer, got ${options.chunkSize}`);
    this.storageUrl = canonicalStorageUrl(options.storageUrl);
    this.tag = storageTag(options.storageUrl);
  }

  /** Chunks of the snapshots in key order, each with its job id. */
  plan(run: string, sourceUrl: string, items: readonly SnapshotItem[]): IdentifyRunRecord['jobs'] {
    const sorted = [...items].sort((a, b) => compareKeys(a.key, b.key));
    const jobs: IdentifyRunRecord['jobs'] = [];
    for (let start = 0; start < sorted.length; start += this.options.chunkSize) {
      const chunk = sorted.slice(start, start + this.options.chunkSize);
      const input = JSON.stringify([
        this.storageUrl,
        canonicalStorageUrl(sourceUrl),
        run,
        this.options.model,
        chunk.map((i) => [i.key, i.etag]),
      ]);
      jobs.push({ jobId: `identify-${this.tag}-${shortHash(input, 32)}`, items: chunk });
    }
    return jobs;
  }

  /** Enqueues the run's planned jobs that still have work; `done` holds the input keys with results. */
  async enqueue(
    record: IdentifyRunRecord,
    done: ReadonlySet<string>,
  ): Promise<IdentifyEnqueueSummary & { jobIds: string[] }> {
    const summary = {
      snapshots: record.snapshots,
      alreadyDone: 0,
      alreadyQueued: 0,
      enqueued: 0,
      jobs: 0,
      jobIds: [] as string[],
    };
    const todo: IdentifyRunRecord['jobs'] = [];
    for (const job of record.jobs) {
      const missing = job.items.filter((item) => !done.has(item.key)).length;
      summary.alreadyDone += job.items.length - missing;
      if (missing > 0) todo.push(job);
    }
    const states = new Map<string, string>();
    await forEachConcurrent(todo, 32, async ({ jobId }) => {
      states.set(jobId, await this.queue.getJobState(jobId));
    });
    const add: { name: string; data: IdentifyJobData; opts: JobsOptions }[] = [];
    for (const job of todo) {
      const state = states.get(job.jobId)!;
      const missing = job.items.filter((item) => !done.has(item.key)).length;
      summary.jobIds.push(job.jobId);
      if (PENDING_STATES.has(state)) {
        summary.alreadyQueued += missing;
        continue;
      }
      // Finished, yet some of its snapshots have no result (e.g. results deleted): run it again.
      if (state !== 'unknown') await this.queue.remove(job.jobId);
      add.push({
        name: 'identify',
        data: {
          storageUrl: this.storageUrl,
          sourceUrl: record.source,
          run: record.run,
          model: this.options.model,
          items: job.items,
          ...(hasRule(this.options.rule) ? { rule: this.options.rule } : {}),
        },
        opts: { ...DEFAULT_JOB_OPTIONS, ...this.options.jobOptions, jobId: job.jobId },
      });
      summary.enqueued += missing;
    }
    if (add.length > 0) await this.queue.addBulk(add);
    summary.jobs = add.length;
    return summary;
  }
}

function hasRule(rule: IdentifyJobData['rule']): rule is NonNullable<IdentifyJobData['rule']> {
  return rule !== undefined && (rule.threshold !== undefined || rule.marginWeight !== undefined);
}
