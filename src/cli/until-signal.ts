import { logger } from '../logger.js';

/**
 * Resolves on the first SIGTERM or SIGINT, after `stop` has run: long-running commands finish
 * their in-flight work there and the process exits once nothing is left open. A second signal
 * exits at once.
 */
export async function runUntilSignal(what: string, stop: () => Promise<void>): Promise<void> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, `${what}: stopping, finishing work in flight`);
  const again = () => {
    logger.warn(`${what}: second signal, exiting now`);
    process.exit(130);
  };
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  await stop();
  logger.info(`${what}: stopped`);
}

/**
 * Runs `fn` with a signal that aborts on Ctrl-C: a command waiting for workers stops waiting and
 * reports what finished (the jobs go on in the queue).
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    return await fn(abort.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
