import type { Command } from 'commander';
import { loadAppConfig, type AppConfig } from '../../config/app-config.js';
import { loadEngineConfig } from '../../config/engine-config.js';
import { type HttpLimits, loadHttpLimits } from '../../config/http-limits-config.js';
import { FaceEngine } from '../../engine/face-engine.js';
import { logger } from '../../logger.js';
import { startIndexService } from '../../index/index-service-runtime.js';
import { requireRedis } from '../../queue/require-redis.js';
import { intArg } from '../arg-parsers.js';
import { runUntilSignal } from '../until-signal.js';
import { deploymentModel } from '../engine-session.js';
import { addRuleOptions, ruleOverrides } from '../rule-options.js';

export interface ServeFlags {
  port?: number;
  host: string;
  ef?: number;
  snapshotChanges: number;
  snapshotSeconds: number;
  insecureNoAuth?: boolean;
  httpMaxImages?: string;
  httpMaxQueuedImages?: string;
  httpRequestTimeoutMs?: string;
  httpConnectionTimeoutMs?: string;
  httpMaxPixels?: string;
}

/** The HTTP limits from the serve flags, else FACEPIPE_HTTP_* variables, else defaults. */
export function serveLimits(flags: ServeFlags): HttpLimits {
  return loadHttpLimits({
    maxConcurrentImages: flags.httpMaxImages,
    maxQueuedImages: flags.httpMaxQueuedImages,
    requestTimeoutMs: flags.httpRequestTimeoutMs,
    connectionTimeoutMs: flags.httpConnectionTimeoutMs,
    maxPixels: flags.httpMaxPixels,
  });
}

/** The index-service flags, shared by `serve` and `up`. */
export function addServeOptions(command: Command): Command {
  return addRuleOptions(command)
    .option('--port <n>', 'port to listen on (default: the port of --index-url, 7070)', intArg(0, 65535))
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option(
      '--ef <n>',
      'HNSW query-time ef: higher is more exact and slower (default: follows the index size, 96 up to 200,000 faces a shard)',
      intArg(1, 10_000),
    )
    .option('--snapshot-changes <n>', 'write an index snapshot after this many gallery changes...', intArg(1), 1000)
    .option('--snapshot-seconds <s>', '...or this long after the first unsaved change', intArg(1), 60)
    .option('--insecure-no-auth', 'serve without API keys on any address (logged as a warning; never on a network)')
    .option(
      '--http-max-images <n>',
      'images analysed at once by identify/verify; more wait in line (FACEPIPE_HTTP_MAX_IMAGES, 4)',
    )
    .option(
      '--http-max-queued-images <n>',
      'requests waiting for an image slot; more get 503 BUSY (FACEPIPE_HTTP_MAX_QUEUED_IMAGES, 8)',
    )
    .option(
      '--http-request-timeout-ms <ms>',
      'a whole request must arrive within this (FACEPIPE_HTTP_REQUEST_TIMEOUT_MS, 30000)',
    )
    .option(
      '--http-connection-timeout-ms <ms>',
      'idle connections close after this (FACEPIPE_HTTP_CONNECTION_TIMEOUT_MS, 120000)',
    )
    .option('--http-max-pixels <n>', 'largest uploaded image, width x height (FACEPIPE_HTTP_MAX_PIXELS, 16000000)');
}

/** --port, else the port of the configured index URL: the service listens where the commands look. */
export function servePort(flags: ServeFlags, config: AppConfig): number {
  if (flags.port !== undefined) return flags.port;
  const url = new URL(config.indexUrl);
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/**
 * The index-service options the serve flags set, shared by `serve` and `up` so both read them alike;
 * call it before starting anything: bad HTTP limits throw a ConfigError here.
 */
export function serveFlagOptions(flags: ServeFlags, config: AppConfig) {
  const limits = serveLimits(flags);
  return {
    port: servePort(flags, config),
    host: flags.host,
    ef: flags.ef,
    service: snapshotCadence(flags),
    insecureNoAuth: flags.insecureNoAuth === true,
    limits,
  };
}

export function snapshotCadence(flags: ServeFlags): { snapshotEveryChanges: number; snapshotEveryMs: number } {
  return { snapshotEveryChanges: flags.snapshotChanges, snapshotEveryMs: flags.snapshotSeconds * 1000 };
}

export function registerServe(program: Command): void {
  addServeOptions(
    program
      .command('serve')
      .description('run the index service: HNSW index of the gallery in memory, HTTP API, snapshots; until SIGTERM'),
  ).action(async (flags: ServeFlags, command: Command) => {
    const globals = command.optsWithGlobals();
    const config = loadAppConfig(globals);
    const engineOptions = loadEngineConfig(globals);
    await requireRedis(config.redisUrl);
    const options = serveFlagOptions(flags, config);
    let engine: Promise<FaceEngine> | undefined;
    const running = await startIndexService(config, {
      model: await deploymentModel(globals),
      ...options,
      rule: ruleOverrides(globals),
      // identify/verify need the engine: started on the first such request, not before.
      analyzer: () => {
        engine ??= FaceEngine.start(engineOptions).then((e) => {
          logger.info({ backend: e.backend }, `engine backend: ${e.backend}`);
          return e;
        });
        return engine;
      },
    });
    process.stderr.write(`facepipe index service at ${running.url}\n`);
    await runUntilSignal('serve', async () => {
      await running.close();
      if (engine) await (await engine).close();
    });
  });
}
