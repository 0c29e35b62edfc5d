import { pino } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const wanted = process.env.FACEPIPE_LOG_LEVEL?.trim().toLowerCase() || 'info';

/**
 * The process's one logger. It writes to stderr so that stdout carries only results (--json);
 * synchronously, so that lines logged just before the process exits are not lost.
 */
export const logger = pino(
  { name: 'facepipe', level: LEVELS.includes(wanted) ? wanted : 'info' },
  pino.destination({ fd: 2, sync: true }),
);

if (!LEVELS.includes(wanted)) {
  logger.warn(`FACEPIPE_LOG_LEVEL ${JSON.stringify(wanted)} is not one of ${LEVELS.join(', ')}; using info`);
}
