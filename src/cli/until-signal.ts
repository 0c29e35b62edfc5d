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
