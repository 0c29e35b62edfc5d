import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { APP_DEFAULTS } from '../config/app-config.js';
import { ConfigError } from '../config/config-source.js';
import { DETECTORS } from '../engine/face-detector.js';
import { DEFAULT_ENGINE_OPTIONS } from '../engine/face-engine.js';
import { BACKEND_NAMES } from '../engine/tf-backend.js';
import { logger } from '../logger.js';
import { registerCalibrate } from './commands/calibrate.js';
import { registerDemo } from './commands/demo.js';
import { registerDetect } from './commands/detect.js';
import { registerEmbed } from './commands/embed.js';
import { registerEnroll } from './commands/enroll.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerFailures } from './commands/failures.js';
import { registerGallery } from './commands/gallery.js';
import { registerIdentify } from './commands/identify.js';
import { registerIndex } from './commands/index-rebuild.js';
import { registerMatches } from './commands/matches.js';
import { registerKeys } from './commands/keys.js';
import { registerPersons } from './commands/persons.js';
import { registerSchedule } from './commands/schedule.js';
import { registerSearch } from './commands/search.js';
import { registerServe } from './commands/serve.js';
import { registerTrain } from './commands/train.js';
import { registerUp } from './commands/up.js';
import { registerVerify } from './commands/verify.js';
import { registerWorker } from './commands/worker.js';
import { EXIT } from './output.js';

const HELP_FOOTER = `
Examples:
  $ facepipe detect photo.jpg --json
  $ facepipe verify id-card.jpg selfie.jpg --threshold 0.55
  $ facepipe embed archive/ new-photo.jpg --out embeddings.jsonl
  $ facepipe evaluate lfw/ --pairs lfw/pairs.txt --report reports/lfw
  $ FACEPIPE_BACKEND=wasm facepipe --threads 4 detect photo.jpg
  $ facepipe up &                      # index service + workers in one process (Redis on 127.0.0.1:6379)
  $ facepipe enroll archive/ --wait    # archive/<personId>/<photo>.jpg
  $ facepipe search frame.jpg -k 5
  $ facepipe schedule identify s3://cctv/ --cron "0 2 * * *" --tz Europe/Paris
  $ facepipe --storage s3://bucket/facepipe worker --concurrency 8

Engine settings: a flag wins over its environment variable (FACEPIPE_BACKEND, FACEPIPE_THREADS,
FACEPIPE_DETECTOR, FACEPIPE_MIN_FACE_SIZE, FACEPIPE_MAX_PIXELS, FACEPIPE_MAX_BATCH,
FACEPIPE_MAX_WAIT_MS, FACEPIPE_FLIP_TTA); so do the deployment settings (FACEPIPE_STORAGE,
REDIS_URL, FACEPIPE_QUEUE_PREFIX, FACEPIPE_INDEX_URL). Logs go to stderr as JSON lines, at
FACEPIPE_LOG_LEVEL (default info); with --json, stdout holds only the result.

Exit codes:
  0  every input was processed (for verify: a decision, same or different, was made)
  1  some input failed: a bad or missing image, no face to verify, an unreadable pairs file
  2  usage error: unknown command or option, missing argument, invalid engine setting
`;

export function buildProgram(): Command {
  const d = DEFAULT_ENGINE_OPTIONS;
  const program = new Command('facepipe')
    .description('Face verification (1:1) and identification (1:N): the engine, bulk enrollment, the index service')
    .version(packageVersion())
    // Settings before any .command(): subcommands copy them when created.
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .option('--backend <name>', `engine backend: ${BACKEND_NAMES.join(' | ')} (default: the fastest installed)`)
    .option('--threads <n>', `inference worker threads (default: CPU cores, here ${d.threads})`)
    .option('--detector <name>', `face detector: ${DETECTORS.join(' | ')} (default: ${d.analyzer.detector})`)
    .option('--min-face-size <px>', `ignore faces smaller than this (default: ${d.analyzer.minFaceSize})`)
    .option('--max-pixels <n>', `refuse images larger than this, width x height (default: ${d.maxPixels})`)
    .option('--max-batch <n>', `faces per embedding pass (default: ${d.maxBatch})`)
    .option('--max-wait-ms <ms>', `how long a face waits for a batch to fill (default: ${d.maxWaitMs})`)
    .option('--flip-tta', `average each embedding with its mirror image's (default: ${d.analyzer.flipTta})`)
    .option('--no-flip-tta', 'embed each face once, without its mirror image (faster)')
    .option(
      '--adapter <dir>',
      'apply this trained embedding adapter (facepipe train triplet) to every embedding; its own gallery and index',
    )
    .option(
      '--storage <url>',
      `where facepipe keeps its data: folder, file:///path or s3://bucket/prefix (default: ${APP_DEFAULTS.storage})`,
    )
    .option('--redis-url <url>', `Redis for the queues and the change log (default: ${APP_DEFAULTS.redisUrl})`)
    .option('--queue-prefix <name>', `separates deployments sharing one Redis (default: ${APP_DEFAULTS.queuePrefix})`)
    .option('--index-url <url>', `the index service (default: ${APP_DEFAULTS.indexUrl})`)
    .option(
      '--capture-key-pattern <pattern>',
      'workers: where a snapshot key says when it was taken, e.g. {yyyy}-{MM}-{dd}/{camera}/{HH}{mm}{ss}.jpg (default: none; EXIF, else last-modified)',
    )
    .option('--capture-time-zone <zone>', 'workers: IANA zone of camera clocks without an offset (default: UTC)')
    .option('--follow-symlinks', 'folder sources: follow symbolic links (default: refused, SYMLINK_REFUSED)')
    .option(
      '--index-wait-ms <ms>',
      'workers: how long an identify job waits for an unreachable index service, then fails the attempt (default: 300000)',
    )
    .addHelpText('after', HELP_FOOTER);
  registerDemo(program);
  registerDetect(program);
  registerVerify(program);
  registerEmbed(program);
  registerEvaluate(program);
  registerEnroll(program);
  registerIdentify(program);
  registerWorker(program);
  registerServe(program);
  registerUp(program);
  registerIndex(program);
  registerGallery(program);
  registerPersons(program);
  registerKeys(program);
  registerMatches(program);
  registerFailures(program);
  registerSearch(program);
  registerCalibrate(program);
  registerSchedule(program);
  registerTrain(program);
  return program;
}

/** From src/cli or dist/cli alike, package.json is two folders up. */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** Runs the CLI and returns its exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof ConfigError) {
      for (const problem of err.problems) process.stderr.write(`facepipe: ${problem}\n`);
      return EXIT.usage;
    }
    logger.debug({ err }, 'command failed');
    process.stderr.write(`facepipe: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failed;
  }
}

process.exitCode = await main(process.argv);
