import type { Queue } from 'bullmq';
import { logger } from '../logger.js';

/** How long a waiting producer lets jobs sit before it checks that a worker is there. */
export const NO_WORKER_WARNING_MS = 15_000;

export interface WarnWithoutWorkersOptions {
  /** Check after this long (default NO_WORKER_WARNING_MS; tests use less). */
  afterMs?: number;
  /** Called once when, by then, no worker is connected to the queue. */
  onNoWorker: () => void;
}

/**
 * Checks once, `afterMs` after the start, whether any worker consumes `queue` (BullMQ's
 * getWorkersCount: the Redis clients named after the queue) and calls `onNoWorker` if none is:
 * a `--wait` with nobody to do the work would otherwise wait forever without a word. Returns a
 * function that cancels the check. A Redis that refuses CLIENT LIST (some managed services) gives
 * no warning rather than a false one.
 */
export function warnWithoutWorkers(queue: Queue, options: WarnWithoutWorkersOptions): () => void {
  let cancelled = false;
  const timer = setTimeout(async () => {
    try {
      const workers = await queue.getWorkersCount();
      if (workers === 0 && !cancelled) options.onNoWorker();
    } catch (err) {
      logger.debug({ err, queue: queue.name }, 'cannot count the workers of the queue');
    }
  }, options.afterMs ?? NO_WORKER_WARNING_MS);
  // The check alone never keeps the process alive.
  timer.unref();
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}

/** The warning's text: which queue, and how to start a worker on it. */
export function noWorkerMessage(queue: Queue, waitedMs: number): string {
  return (
    `no worker is taking jobs from the ${queue.name} queue (prefix ${queue.opts.prefix}) after ` +
    `${Math.round(waitedMs / 1000)} s: start one with \`facepipe worker\` or \`facepipe up\` on the same ` +
    '--storage, --redis-url and --queue-prefix; still waiting (Ctrl-C stops waiting, the jobs stay queued)'
  );
}

/**
 * warnWithoutWorkers as the waiting producers (enroll, identify) use it: after `noWorkerWarningMs`
 * (default NO_WORKER_WARNING_MS) their `onNoWorker` gets noWorkerMessage's text. Returns the cancel.
 */
export function warnWaitingProducer(
  queue: Queue,
  options: { noWorkerWarningMs?: number; onNoWorker?: (message: string) => void },
): () => void {
  const warnAfter = options.noWorkerWarningMs ?? NO_WORKER_WARNING_MS;
  return warnWithoutWorkers(queue, {
    afterMs: warnAfter,
    onNoWorker: () => options.onNoWorker?.(noWorkerMessage(queue, warnAfter)),
  });
}
