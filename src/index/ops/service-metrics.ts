import type { JobType, Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { logger } from '../../logger.js';
import { METRIC_PREFIX, replacingMetric } from '../../util/metrics-registry.js';
import type { IndexServiceStatus } from '../index-service.js';

/** The job states the depth gauge reports, as BullMQ's getJobCounts names them. */
export const QUEUE_STATES: JobType[] = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
];

export interface ServiceMetricsSources {
  /** The deployment's queues: their depth per state is read from Redis on each scrape. */
  queues: readonly Queue[];
  /** The index service's state (its change-log position, its last snapshot). */
  status: () => IndexServiceStatus;
  /** The id of the change log's newest entry (undefined when empty). */
  lastChange: () => Promise<string | undefined>;
  /** Default Date.now. */
  now?: () => number;
}

/**
 * What only the index service can see, all read on scrape: queue depth (one place for the whole
 * deployment, so a sum over workers does not multiply it), how far the index is behind the change
 * log, and how old its last snapshot is (what a restart would replay from).
 */
export function registerServiceMetrics(registry: Registry, sources: ServiceMetricsSources): void {
  const now = sources.now ?? Date.now;
  new Gauge({
    name: replacingMetric(registry, `${METRIC_PREFIX}queue_jobs`),
    help: 'Jobs in each queue by state (BullMQ getJobCounts)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const counts = await Promise.all(
        sources.queues.map((queue) =>
          withTimeout(queue.getJobCounts(...QUEUE_STATES), SCRAPE_READ_TIMEOUT_MS).catch((err: unknown) => {
            // A scrape while Redis is away: no depth rather than a failed scrape of everything.
            logger.warn({ queue: queue.name, err: err instanceof Error ? err.message : String(err) }, 'queue depth');
            return undefined;
          }),
        ),
      );
      this.reset();
      sources.queues.forEach((queue, i) => {
        for (const [state, value] of Object.entries(counts[i] ?? {})) this.set({ queue: queue.name, state }, value);
      });
    },
  });
  new Gauge({
    name: replacingMetric(registry, `${METRIC_PREFIX}change_log_lag_seconds`),
    help: 'Time between the newest gallery change and the newest one the index has applied (0: caught up, NaN: Redis away)',
    registers: [registry],
    async collect() {
      // Redis away: NaN (unknown), not 0, which would read as "caught up".
      const last = await withTimeout(sources.lastChange(), SCRAPE_READ_TIMEOUT_MS).then(
        (id) => id ?? null,
        () => undefined,
      );
      const applied = sources.status().changePosition;
      if (last === undefined) this.set(Number.NaN);
      else this.set(last === null ? 0 : Math.max(0, streamIdMs(last) - streamIdMs(applied)) / 1000);
    },
  });
  new Gauge({
    name: replacingMetric(registry, `${METRIC_PREFIX}last_snapshot_age_seconds`),
    help: 'Age of the index snapshot last written or restored (NaN: none yet)',
    registers: [registry],
    collect() {
      const name = sources.status().lastSnapshot;
      const at = name === undefined ? undefined : snapshotTime(name);
      this.set(at === undefined ? Number.NaN : Math.max(0, now() - at) / 1000);
    },
  });
  new Gauge({
    name: replacingMetric(registry, `${METRIC_PREFIX}gallery_quarantined_objects`),
    help: 'Gallery objects that did not parse, moved to the quarantine folder (left out of the index)',
    registers: [registry],
    collect() {
      this.set(sources.status().quarantined ?? 0);
    },
  });
  new Gauge({
    name: replacingMetric(registry, `${METRIC_PREFIX}index_ready`),
    help: 'Whether the index service is ready: 1 loaded and following the change log, 0 loading or stuck',
    registers: [registry],
    collect() {
      this.set(sources.status().ready ? 1 : 0);
    },
  });
}

/**
 * How long a scrape waits for Redis: its commands wait for a reconnect while it is away, and a
 * scrape that hangs past Prometheus's timeout loses every other metric with it.
 */
const SCRAPE_READ_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The milliseconds part of a Redis stream id (`<ms>-<seq>`; LOG_START '0-0' is 0). */
function streamIdMs(id: string): number {
  const ms = Number(id.split('-')[0]);
  return Number.isFinite(ms) ? ms : 0;
}

/** A snapshot's time from its name (`20261206T104925123Z-<hex>`, util/unique-name). */
export function snapshotTime(name: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(name);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}
