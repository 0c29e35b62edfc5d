import { redactUrl } from '../../util/redact-url.js';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Command } from 'commander';
import { loadAppConfig, type AppConfig } from '../../config/app-config.js';
import { loadEngineConfig } from '../../config/engine-config.js';
import { buildDemoData } from '../../demo/demo-data.js';
import { ensureLocalRedis } from '../../demo/local-redis.js';
import { IndexClient } from '../../index/index-client.js';
import { logger } from '../../logger.js';
import { startIndexService } from '../../index/index-service-runtime.js';
import { runEnroll, type EnrollRunSummary } from '../../producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../../producers/identify-run.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../../queue/queue-names.js';
import { ResultStore } from '../../results/result-store.js';
import { openStorage } from '../../storage/open-storage.js';
import { DEFAULT_QUEUE_WORKER_OPTIONS } from '../../workers/queue-worker-options.js';
import { startWorkers } from '../../workers/worker-process.js';
import { withEngine } from '../engine-session.js';
import { fixed, printLine } from '../output.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole system in under a minute on images that ship with npm: enroll people, identify CCTV-like snapshots, ask where one was seen',
    )
    .option('--keep', "keep the demo's storage folder (archive, snapshots, results) instead of deleting it")
    .option('--console', 'then keep the index service running with its web console on the demo data, until Ctrl-C')
    .action(async (flags: { keep?: boolean; console?: boolean }, command: Command) => {
      const started = performance.now();
      // The demo's own lines are the output; the services' info logs would drown them.
      if (process.env.FACEPIPE_LOG_LEVEL === undefined) logger.level = 'warn';
      const globals = command.optsWithGlobals();
      const dir = await mkdtemp(path.join(tmpdir(), 'facepipe-demo-'));
      // Its own storage and queue prefix: the demo never touches a real deployment's data.
      let config: AppConfig = loadAppConfig({
        ...globals,
        storage: path.join(dir, 'data'),
        queuePrefix: `demo-${randomBytes(3).toString('hex')}`,
      });
      const redis = await ensureLocalRedis(config.redisUrl);
      printLine(
        `Redis at ${redactUrl(config.redisUrl)} (${redis.how === 'started' ? 'started for the demo' : 'already running'}); demo data in ${dir}`,
      );
      try {
        await withEngine(loadEngineConfig(globals), async (engine) => {
          const data = await buildDemoData(engine, dir);
          printLine(
            `archive: ${data.enrolled.length} people, one photo each (faces from face-api's demo photos); night: ${data.truth.size} snapshots with them and ${data.strangers.length} strangers`,
          );

          const index = await startIndexService(config, {
            model: engine.model,
            port: 0,
            host: '127.0.0.1',
            analyzer: engine,
            service: { readBlockMs: 200 },
          });
          config = { ...config, indexUrl: index.url };
          const workers = await startWorkers(config, engine, [QUEUE_NAMES.enroll, QUEUE_NAMES.identify], {
            ...DEFAULT_QUEUE_WORKER_OPTIONS,
            concurrency: 2,
          });
          try {
            const enrolled = (await runEnroll(config, {
              model: engine.model,
              source: data.gallery,
              wait: true,
            })) as EnrollRunSummary;
            printLine(
              `\n$ facepipe enroll ${data.gallery} --wait\n  ${enrolled.enrolled} of ${enrolled.images} photos enrolled, ${enrolled.persons} persons, ${fixed(enrolled.seconds, 1)} s`,
            );
            while (index.service.current.size < enrolled.enrolled)
              await new Promise((resolve) => setTimeout(resolve, 50));

            const run = (await runIdentify(config, {
              model: engine.model,
              source: data.night,
              run: 'demo-night',
              wait: true,
            })) as IdentifyRunSummary;
            printLine(
              `\n$ facepipe identify ${data.night} --wait\n  ${run.snapshots} snapshots, ${run.faces} faces: ${run.identified} identified, ${run.unknown} unknown, ${fixed(run.seconds, 1)} s`,
            );
            const results = new ResultStore(openStorage(config.storage));
            let right = 0;
            let strangersKept = 0;
            for await (const { resultKey, result } of results.read(run.run)) {
              const expected = data.truth.get(result.input.key) ?? [];
              const named = result.faces.map((f) => f.personId ?? 'unknown');
              printLine(
                `  ${result.input.key}: ${result.faces.map((f) => (f.personId ? `${f.personId} (${fixed(f.matches[0].distance, 2)})` : `unknown (closest ${f.matches[0]?.personId ?? '-'} at ${fixed(f.matches[0]?.distance ?? NaN, 2)})`)).join(', ') || 'no face'}`,
              );
              printLine(`    in it: ${expected.join(', ')}  -> ${resultKey}`);
              right += expected.filter((p) => p !== 'stranger' && named.includes(p)).length;
              strangersKept += Math.min(
                expected.filter((p) => p === 'stranger').length,
                named.filter((p) => p === 'unknown').length,
              );
            }
            printLine(
              `  named correctly: ${right} of ${data.enrolled.length} enrolled appearances; strangers left unknown: ${strangersKept} of ${data.strangers.length}`,
            );

            const person = data.enrolled[0].personId;
            const seen = await new IndexClient(index.url).matches(person);
            printLine(`\n$ facepipe matches ${person}\n  ${seen.total} sighting(s):`);
            for (const m of seen.items)
              printLine(
                `  ${m.seenAt}  ${m.key}  distance ${m.distance === null ? '-' : fixed(m.distance, 2)}  box ${Math.round(m.box.x)},${Math.round(m.box.y)} ${Math.round(m.box.width)}x${Math.round(m.box.height)}`,
              );
            if (flags.console) {
              // The demo makes no API key: on loopback the service is open until one exists.
              printLine(
                `\nthe web console: ${index.url}/ (this demo has no API key: open it with an empty key); Ctrl-C ends the demo`,
              );
              await new Promise<void>((resolve) => {
                process.once('SIGINT', resolve);
                process.once('SIGTERM', resolve);
              });
            }
          } finally {
            await workers.close();
            await index.close();
          }
        });
        printLine(`\ndemo done in ${fixed((performance.now() - started) / 1000, 1)} s`);
      } finally {
        await cleanUp(config);
        await redis.stop();
        if (!flags.keep) await rm(dir, { recursive: true, force: true });
      }
    });
}

/** Removes the demo's queues and keys from Redis (its prefix is its own). */
async function cleanUp(config: AppConfig): Promise<void> {
  for (const name of [QUEUE_NAMES.enroll, QUEUE_NAMES.identify]) {
    const queue = new Queue(name, queueConnectionOptions(config));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  const redis = new Redis(config.redisUrl);
  const keys = await redis.keys(`${config.queuePrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}
