import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { loadEngineConfig } from '../../config/engine-config.js';
import { startIndexService } from '../../index/index-service-runtime.js';
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
      const index = await startIndexService(config, {
        model: engine.model,
        ...options,
        analyzer: engine,
        rule,
      });
      const workers = await startFlaggedWorkers(config, engine, flags, engineOptions.threads, rule);
      // The service's /metrics already shows the workers' (one registry); --metrics-port adds a port.
      const closeMetrics = await serveWorkerMetrics(flags);
      process.stderr.write(
        `facepipe up: index service at ${index.url}, workers on ${flags.queues.join(', ')}, storage ${config.storage}\n`,
      );
      await runUntilSignal('up', async () => {
        await closeMetrics();
        await workers.close();
        await index.close();
      });
    });
  });
}
