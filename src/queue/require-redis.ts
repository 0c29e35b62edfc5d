import { Redis } from 'ioredis';
import { redactUrl } from '../util/redact-url.js';
import { RedisUnreachableError } from './redis-unreachable-error.js';

/** How long a command waits for Redis before it gives up (the bound is 10 s). */
export const REDIS_CHECK_TIMEOUT_MS = 6000;

/** Connection attempts (a Redis restarting answers on the second), and the pause between them. */
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 500;

/**
 * Makes sure Redis answers PING at `url` before a command builds on it. BullMQ and ioredis retry
 * an unreachable Redis forever (printing a stack trace per attempt), which is right for a worker
 * that lost Redis for a while but wrong for a command started against a Redis that is not there.
 * Throws a RedisUnreachableError naming the URL (password masked), the cause and what to do.
 */
export async function requireRedis(url: string, timeoutMs = REDIS_CHECK_TIMEOUT_MS): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: Math.max(500, Math.floor(timeoutMs / ATTEMPTS)),
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (times) => (times >= ATTEMPTS ? null : RETRY_DELAY_MS),
  });
  let lastError: Error | undefined;
  // Without a listener ioredis prints "[ioredis] Unhandled error event" with a stack trace.
  redis.on('error', (err: Error) => (lastError = err));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${(timeoutMs / 1000).toFixed(0)} s`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await redis.connect();
        await redis.ping();
      })(),
      deadline,
    ]);
  } catch (err) {
    const cause = lastError ?? (err instanceof Error ? err : new Error(String(err)));
    throw new RedisUnreachableError(`cannot reach Redis at ${redactUrl(url)} (${describe(cause)}): ${advice(cause)}`, {
      cause,
    });
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

/** The cause in a few words: the error's code and message, without the URL's password. */
function describe(err: Error): string {
  return err.message.replace(/\s+/g, ' ').trim();
}

function advice(err: Error): string {
  if (/NOAUTH|WRONGPASS|invalid password|AUTH/i.test(err.message))
    return 'check the user and password in REDIS_URL or --redis-url';
  return 'start redis-server, or point REDIS_URL (or --redis-url) at a running Redis';
}
