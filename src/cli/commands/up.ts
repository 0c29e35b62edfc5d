import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { loadEngineConfig } from '../../config/engine-config.js';
import { startIndexService } from '../../index/index-service-runtime.js';
import { logger } from '../../logger.js';
import { requireRedis } from '../../queue/require-redis.js';
import { withEngine } from '../engine-session.js';
import { ruleOverrides } from '../rule-options.js';
import { runUntilSignal } from '../until-signal.js';
import { addServeOptions, serveFlagOptions, type ServeFlags } from './serve.js';
import { addWorkerOptions, serveWorkerMetrics, startFlaggedWorkers, type WorkerFlags } from './worker.js';

export function registerUp(program: Command): void {
  addWorkerOptions(
    addServeOptions(
      program
        .command('up')
        .description(
          'the single-machine system in one process: index service and workers on one engine, until SIGTERM',
        ),
    ),
  ).action(async (flags: ServeFlags & WorkerFlags, command: Command) => {
    const globals = command.optsWithGlobals();
    const config = loadAppConfig(globals);
    const engineOptions = loadEngineConfig(globals);
    await requireRedis(config.redisUrl);
    const options = serveFlagOptions(flags, config);
    const rule = ruleOverrides(globals);
    await withEngine(engineOptions, async (engine) => {
      // What is running, in start order: stopped in reverse on a signal, and as soon as a later
      // start step fails (a metrics port in use, Redis gone...), so that no part is left behind.
      const started: Array<{ what: string; stop: () => Promise<void> }> = [];
      const stopStarted = async () => {
        for (const { what, stop } of started.splice(0).reverse())
          await stop().catch((err: unknown) =>
            logger.warn({ err: (err as Error).message }, `up: stopping the ${what} failed`),
          );
      };
      try {
        const index = await startIndexService(config, {
          model: engine.model,
          ...options,
          analyzer: engine,
          rule,
        });
        started.push({ what: 'index service', stop: () => index.close() });
        const workers = await startFlaggedWorkers(config, engine, flags, engineOptions.threads, rule);
        started.push({ what: 'workers', stop: () => workers.close() });
        // The service's /metrics already shows the workers' (one registry); --metrics-port adds a port.
        started.push({ what: 'metrics server', stop: await serveWorkerMetrics(flags) });
        process.stderr.write(
          `facepipe up: index service at ${index.url}, workers on ${flags.queues.join(', ')}, storage ${config.storage}\n`,
        );
      } catch (err) {
        await stopStarted();
        throw err;
      }
      await runUntilSignal('up', stopStarted);
    });
  });
}
