import type { Queue } from 'bullmq';
import { logger } from '../logger.js';
import { redactUrl } from '../util/redact-url.js';

/** At most one log line per this many ms while Redis keeps failing. */
const EVERY_MS = 10_000;

/**
 * Gives a queue an 'error' listener: without one BullMQ prints every connection error with its
 * stack trace on stderr. Errors are logged as one line (URL password masked), at most every 10 s;
 * ioredis keeps reconnecting meanwhile, and the commands waiting on Redis go on once it is back.
 */
export function logQueueErrors(queue: Queue, redisUrl: string): void {
  let last = 0;
  queue.on('error', (err: Error) => {
    const now = Date.now();
    if (now - last < EVERY_MS) return;
    last = now;
    logger.warn({ queue: queue.name, redis: redactUrl(redisUrl), err: err.message }, 'Redis error; retrying');
  });
}
