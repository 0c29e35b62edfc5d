import { pino } from 'pino';
import { PinoPretty } from 'pino-pretty';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FORMATS = ['pretty', 'json'];
const wanted = process.env.FACEPIPE_LOG_LEVEL?.trim().toLowerCase() || 'info';
const wantedFormat = process.env.FACEPIPE_LOG_FORMAT?.trim().toLowerCase() || '';

/**
 * Readable lines for a person at a terminal, JSON lines for anything that collects logs (a file, a
 * pipe, docker's log driver); FACEPIPE_LOG_FORMAT=pretty|json overrides the guess.
 */
const pretty = FORMATS.includes(wantedFormat) ? wantedFormat === 'pretty' : process.stderr.isTTY === true;

/**
 * The process's one logger. It writes to stderr so that stdout carries only results (--json);
 * synchronously (pino-pretty too, in this thread: no transport worker), so that lines logged just
 * before the process exits are not lost.
 */
export const logger = pino(
  { name: 'facepipe', level: LEVELS.includes(wanted) ? wanted : 'info' },
  pretty
    ? PinoPretty({
        destination: 2,
        sync: true,
        colorize: process.stderr.isTTY === true,
        ignore: 'pid,hostname',
        singleLine: true,
      })
    : pino.destination({ fd: 2, sync: true }),
);

if (!LEVELS.includes(wanted)) {
  logger.warn(`FACEPIPE_LOG_LEVEL ${JSON.stringify(wanted)} is not one of ${LEVELS.join(', ')}; using info`);
}
if (wantedFormat !== '' && !FORMATS.includes(wantedFormat)) {
  logger.warn(`FACEPIPE_LOG_FORMAT ${JSON.stringify(wantedFormat)} is not one of ${FORMATS.join(', ')}; guessing`);
}
