import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Every metric of facepipe starts with this. */
export const METRIC_PREFIX = 'facepipe_';

let processRegistry: Registry | undefined;

/**
 * The process's one Prometheus registry: the index service and the workers of `facepipe up` share
 * it, so one scrape sees both. Created on first use, with Node's own metrics (CPU, memory, event
 * loop lag) under the facepipe_ prefix. Tests pass their own Registry instead.
 */
export function processMetricsRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: METRIC_PREFIX });
  }
  return processRegistry;
}

/**
 * The metric registered under `name`, or a new one made by `create`: two parts of one process
 * (the service and the workers of `up`) that count the same thing share one series instead of
 * tripping prom-client's "already registered" error.
 */
export function sharedMetric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * The histogram facepipe_<name>, shared as by sharedMetric (the service and the workers of `up` time
 * into one series); the name is given once, so the lookup and the new metric cannot disagree.
 */
export function sharedHistogram<L extends string>(
  registry: Registry,
  name: string,
  options: { help: string; labelNames: L[]; buckets: number[] },
): Histogram<L> {
  const fullName = METRIC_PREFIX + name;
  return sharedMetric(
    registry,
    fullName,
    () => new Histogram<L>({ name: fullName, ...options, registers: [registry] }),
  );
}

/**
 * Removes the metric registered under `name`, before registering one that reads a live object on
 * scrape (an index, queues): the newest such object of the process is the one reported, and a
 * service started again in the same process (tests) does not trip the "already registered" error.
 */
export function replacingMetric(registry: Registry, name: string): string {
  registry.removeSingleMetric(name);
  return name;
}
