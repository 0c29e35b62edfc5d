import { redactUrl } from '../../util/redact-url.js';
import { InvalidArgumentError, type Command } from 'commander';
import { Redis } from 'ioredis';
import { loadAppConfig, type AppFlags } from '../../config/app-config.js';
import { GalleryStore } from '../../gallery/gallery-store.js';
import { IndexClient, isEnrolled } from '../../index/index-client.js';
import { DEFAULT_RESULTS_PREFIX, MatchStore, parseIsoTime } from '../../matches/match-store.js';
import { DEFAULT_MATCHES_LIMIT, MAX_MATCHES_LIMIT, type MatchRecord } from '../../matches/types.js';
import { matchKeyPrefix } from '../../queue/queue-names.js';
import { requireRedis } from '../../queue/require-redis.js';
import { openStorage } from '../../storage/open-storage.js';
import { intArg } from '../arg-parsers.js';
import { deploymentModel } from '../engine-session.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';

interface MatchesFlags {
  since?: Date;
  until?: Date;
  limit?: number;
  offset?: number;
  camera?: string;
  json?: boolean;
}

const HELP = `
Sightings are the identified faces of the result files (${DEFAULT_RESULTS_PREFIX}<run>/<input key>.json),
newest first, by the time the snapshot was taken: EXIF, else the key (--capture-key-pattern), else its
last-modified time (results written before this: last-modified, else when it was processed).
\`facepipe matches <personId>\` asks the index service; \`facepipe matches rebuild\` recreates the record
from the result files, locally (storage and Redis from --storage/FACEPIPE_STORAGE, --redis-url/REDIS_URL,
--queue-prefix/FACEPIPE_QUEUE_PREFIX). A person whose id is literally "rebuild" cannot be queried
from this command (ask the service: GET /v1/persons/rebuild/matches). \`matches rebuild\` exits 1
when it skipped unreadable result files (they are logged), after recording all the others.

Examples:
  $ facepipe matches emp-042 --since 2026-11-28 --until 2026-11-29
  $ facepipe matches emp-042 --since 2026-11-28T22:00:00+01:00 --limit 20 --json
  $ facepipe matches emp-042 --camera cam-03
  $ facepipe matches rebuild
`;

/** A commander parser for an ISO 8601 date or date-time with a zone. */
function isoArg(value: string): Date {
  const date = parseIsoTime(value);
  if (!date)
    throw new InvalidArgumentError(
      'expected an ISO 8601 date or date-time with a zone, e.g. 2026-11-28 or 2026-11-28T02:15:00Z.',
    );
  return date;
}

/**
 * `facepipe matches <personId>`: where a person was seen, through the index service (--index-url,
 * FACEPIPE_INDEX_URL); `facepipe matches rebuild`: the record recreated from the result files.
 */
export function registerMatches(program: Command): void {
  const matches = program
    .command('matches')
    .description('where a person was seen: their sightings in the identification results, newest first')
    .argument('<personId>', 'the person (not "rebuild": that name runs `matches rebuild`)')
    .option('--since <ISO>', 'sightings at or after this time (date, or date-time with Z or an offset)', isoArg)
    .option('--until <ISO>', 'sightings before this time (exclusive)', isoArg)
    .option(
      '--limit <n>',
      `at most this many sightings, 1 to ${MAX_MATCHES_LIMIT} (default: ${DEFAULT_MATCHES_LIMIT})`,
      intArg(1, MAX_MATCHES_LIMIT),
    )
    .option('--offset <n>', 'skip this many (newest) sightings first (default: 0)', intArg(0))
    .option('--camera <name>', "this camera's sightings alone (the key pattern's {camera}, else the key's folder)")
    .option(
      '--json',
      'print one JSON object (the last line): {personId, total, items: [{personId, run, key, resultKey, faceIndex, box, distance, seenAt, seenFrom, camera}]}',
    )
    // Else `matches help` would be commander's help command, not a person.
    .helpCommand(false)
    .addHelpText('after', HELP)
    .action(async (personId: string, flags: MatchesFlags, command: Command) => {
      if (flags.since && flags.until && flags.since.getTime() > flags.until.getTime()) {
        command.error('error: --since must not be after --until', {
          exitCode: EXIT.usage,
          code: 'facepipe.invalidRange',
        });
      }
      const { indexUrl } = loadAppConfig(command.optsWithGlobals());
      const client = new IndexClient(indexUrl);
      const page = await client.matches(personId, {
        since: flags.since,
        until: flags.until,
        limit: flags.limit,
        offset: flags.offset,
        camera: flags.camera,
      });
      // No sightings: a person never seen, or an id that was never enrolled (a typo): say which.
      if (page.total === 0 && !(await isEnrolled(client, personId))) {
        process.stderr.write(
          `facepipe: ${personId} is not enrolled (the index service at ${indexUrl} has no such person; \`facepipe persons list\` shows who is)\n`,
        );
        process.exitCode = EXIT.failed;
        return;
      }
      if (flags.json) printJson(page);
      else {
        const offset = flags.offset ?? 0;
        const shown =
          page.items.length === 0 ? 'none shown' : `showing ${offset + 1}-${offset + page.items.length}, newest first`;
        printLine(`${page.total} sighting(s) of ${page.personId} (${shown})`);
        for (const item of page.items) printLine(sightingLine(item));
      }
      process.exitCode = EXIT.ok;
    });

  matches
    .command('rebuild')
    .description(
      'recreate the sightings from the result files alone (locally: needs storage and Redis, not the service)',
    )
    .option('--json', 'print one JSON object (the last line): {results, faces, skipped, seconds}')
    .action(async (_flags: unknown, command: Command) => {
      // `matches` parses the options before its subcommand: --json may land on either.
      const flags = command.optsWithGlobals<MatchesFlags & AppFlags>();
      const stray = (['since', 'until', 'limit', 'offset', 'camera'] as const).filter(
        (name) => flags[name] !== undefined,
      );
      if (stray.length > 0) {
        command.error(`error: matches rebuild takes no ${stray.map((name) => `--${name}`).join(', ')}`, {
          exitCode: EXIT.usage,
          code: 'facepipe.unknownOption',
        });
      }
      const config = loadAppConfig(flags);
      const storage = openStorage(config.storage);
      await requireRedis(config.redisUrl);
      // Fail rather than wait forever when Redis goes away meanwhile.
      const redis = new Redis(config.redisUrl, {
        maxRetriesPerRequest: 2,
        retryStrategy: (times) => (times > 5 ? null : 200 * times),
      });
      let redisError: Error | undefined;
      redis.on('error', (err: Error) => (redisError = err));
      try {
        const started = performance.now();
        // Erased people stay erased: their sightings from before the deletion are not brought back;
        // merged people's go to the person they were merged into.
        const gallery = new GalleryStore(storage, (await deploymentModel(command.optsWithGlobals())).id);
        const deletedPersons = await gallery.deletedPersons();
        const mergedPersons = await gallery.mergedPersons();
        const store = new MatchStore(redis, matchKeyPrefix(config));
        const summary = await store.rebuild(storage, undefined, deletedPersons, mergedPersons).catch((err: unknown) => {
          if (redisError && redis.status !== 'ready')
            throw new Error(`cannot reach Redis at ${redactUrl(config.redisUrl)}: ${redisError.message}`, {
              cause: err,
            });
          throw err;
        });
        const seconds = (performance.now() - started) / 1000;
        if (flags.json) printJson({ ...summary, seconds });
        else {
          printLine(
            `rebuilt: ${summary.faces} sighting(s) from ${summary.results} result file(s)` +
              `${summary.skipped > 0 ? `, ${summary.skipped} unreadable file(s) skipped (see the log)` : ''}, ${seconds.toFixed(1)} s`,
          );
        }
        // Like any command that met an unreadable input: the rest is done, and the exit code says so.
        process.exitCode = summary.skipped > 0 ? EXIT.failed : EXIT.ok;
      } finally {
        redis.disconnect();
      }
    });
}

/** time, snapshot key, box, distance, result file. */
function sightingLine(item: MatchRecord): string {
  const { x, y, width, height } = item.box;
  const box = `box x=${Math.round(x)} y=${Math.round(y)} w=${Math.round(width)} h=${Math.round(height)}`;
  const distance = item.distance === null ? 'distance -' : `distance ${fixed(item.distance)}`;
  return `${item.seenAt}\t${item.key}\t${box}\t${distance}\t${item.resultKey}`;
}
