import type { Command } from 'commander';
import { loadAppConfig, type AppConfig } from '../../config/app-config.js';
import { loadEngineConfig } from '../../config/engine-config.js';
import { resolveEmbeddingModel, type EmbeddingModel } from '../../engine/embedding-model.js';
import type { FaceAnalyzer } from '../../engine/face-analyzer.js';
import type { IdentificationRule } from '../../engine/model-card.js';
import { logger } from '../../logger.js';
import { runIdentify } from '../../producers/identify-run.js';
import type { QueueName } from '../../queue/queue-names.js';
import { queuesNeedEngine, WORKER_QUEUES } from '../../workers/job-registry.js';
import { processMetricsRegistry } from '../../util/metrics-registry.js';
import { startMetricsServer } from '../../util/metrics-server.js';
import { DEFAULT_QUEUE_WORKER_OPTIONS } from '../../workers/queue-worker-options.js';
import { type RunningWorkers, startWorkers } from '../../workers/worker-process.js';
import { requireRedis } from '../../queue/require-redis.js';
import { intArg, listArg } from '../arg-parsers.js';
import { withEngine } from '../engine-session.js';
import { addRuleOptions, ruleOverrides } from '../rule-options.js';
import { runUntilSignal } from '../until-signal.js';

export interface WorkerFlags {
  queues: QueueName[];
  concurrency?: number;
  lockDuration: number;
  stalledInterval: number;
  metricsPort?: number;
  metricsHost: string;
}

/** The queue-worker flags, shared by `worker` and `up`. */
export function addWorkerOptions(command: Command): Command {
  const d = DEFAULT_QUEUE_WORKER_OPTIONS;
  return command
    .option('--queues <list>', `queues to work on: ${WORKER_QUEUES.join(',')}`, listArg(WORKER_QUEUES), [
      ...WORKER_QUEUES,
    ])
    .option('--concurrency <n>', 'jobs at once in this process (default: 2 per engine thread)', intArg(1, 1000))
    .option(
      '--lock-duration <ms>',
      "a dead worker's job is taken over after about this long",
      intArg(1000),
      d.lockDurationMs,
    )
    .option(
      '--stalled-interval <ms>',
      'how often jobs of dead workers are looked for',
      intArg(1000),
      d.stalledIntervalMs,
    )
    .option('--metrics-port <n>', 'serve Prometheus metrics at http://<metrics-host>:<n>/metrics', intArg(0, 65535))
    .option('--metrics-host <address>', 'address of the metrics server (0.0.0.0 for every interface)', '127.0.0.1');
}

/** The process's metrics on --metrics-port, when given; returns what stops serving them. */
export async function serveWorkerMetrics(flags: WorkerFlags): Promise<() => Promise<void>> {
  if (flags.metricsPort === undefined) return async () => undefined;
  const server = await startMetricsServer(processMetricsRegistry(), flags.metricsPort, flags.metricsHost);
  logger.info({ url: server.url }, `metrics at ${server.url}`);
  return () => server.close();
}

/**
 * The workers the worker flags ask for, shared by `worker` and `up` so both size and wire them alike:
 * 2 jobs per engine thread unless --concurrency, identify runs through the producer's runIdentify.
 */
export function startFlaggedWorkers(
  config: AppConfig,
  engine: FaceAnalyzer,
  flags: WorkerFlags,
  engineThreads: number,
  rule: Partial<IdentificationRule>,
): Promise<RunningWorkers> {
  return startWorkers(
    config,
    engine,
    flags.queues,
    {
      concurrency: flags.concurrency ?? 2 * engineThreads,
      lockDurationMs: flags.lockDuration,
      stalledIntervalMs: flags.stalledInterval,
    },
    { runIdentify, rule },
  );
}

/** The analyzer of a worker that runs no inference. */
const noEngine = (model: EmbeddingModel): FaceAnalyzer => ({
  model,
  analyze: () => Promise.reject(new Error('this worker runs without a face engine (--queues schedule only)')),
});

export function registerWorker(program: Command): void {
  addWorkerOptions(
    addRuleOptions(program.command('worker')).description(
      'work on the queues until SIGTERM (finishes the jobs in flight, then exits); run any number, anywhere',
    ),
  ).action(async (flags: WorkerFlags, command: Command) => {
    const globals = command.optsWithGlobals();
    const config = loadAppConfig(globals);
    const engineOptions = loadEngineConfig(globals);
    await requireRedis(config.redisUrl);
    const rule = ruleOverrides(globals);
    const work = async (engine: FaceAnalyzer) => {
      // Metrics first: a port in use stops the command before any job is taken.
      const closeMetrics = await serveWorkerMetrics(flags);
      const workers = await startFlaggedWorkers(config, engine, flags, engineOptions.threads, rule).catch(
        async (err: unknown) => {
          await closeMetrics();
          throw err;
        },
      );
      await runUntilSignal('worker', async () => {
        await workers.close();
        await closeMetrics();
      });
    };
    // Queues whose jobs run no inference (schedule: they only enqueue) load no face models.
    if (!queuesNeedEngine(flags.queues)) await work(noEngine(await resolveEmbeddingModel(engineOptions.adapter)));
    else await withEngine(engineOptions, work);
  });
}
