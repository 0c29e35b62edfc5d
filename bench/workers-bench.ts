/**
 * npm run bench:workers [-- --workers 1,2,4 --snapshots 48 --concurrency 2 --threads 1 --chunk 2]
 *
 * The night with 1, 2 and 4 worker processes (`facepipe worker --queues enroll,identify`) against
 * one Redis, one folder storage and one index service (`facepipe serve`), all real processes. The
 * night is made here: `--snapshots` JPEGs of one face each (crops of @vladmandic/face-api's demo
 * photos, mirrored and brightened), the gallery the four persons they show. For each worker count:
 * start the workers, wait until all of them are on the queue, then time `identify --wait` of a new
 * run over the whole night (`--chunk` snapshots per job). Prints snapshots/s and the ratio to the
 * first worker count (the baseline). On a 2-core machine expect flat scaling past 2 workers: the
 * figure shows whether the queue adds a serial bottleneck. Human lines first; the LAST line is one
 * JSON object.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { loadAppConfig } from '../src/config/app-config.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import { changeLogKey, QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { type CliProcess, startCli, waitFor } from '../test/support/cli-process.js';
import { freePort } from '../test/support/redis-process.js';
import { faceImage, type Person } from '../test/support/sample-faces.js';
import { integer, numberList, optionsOrExit, parseOptions } from './bench-options.js';

const options = optionsOrExit('bench:workers', () =>
  parseOptions(
    {
      workers: { type: 'string', default: '1,2,4' },
      snapshots: { type: 'string', default: '48' },
      concurrency: { type: 'string', default: '2' },
      threads: { type: 'string', default: '1' },
      chunk: { type: 'string', default: '2' },
    },
    z.object({
      workers: numberList(z.number().int().min(1)),
      snapshots: integer(1),
      concurrency: integer(1),
      threads: integer(1),
      chunk: integer(1),
    }),
  ),
);

const PERSONS: Person[] = ['A', 'B', 'C', 'D'];
const log = (line: string) => process.stdout.write(`${line}\n`);

const dir = await mkdtemp(path.join(tmpdir(), 'facepipe-workers-bench-'));
const env = {
  FACEPIPE_STORAGE: path.join(dir, 'data'),
  FACEPIPE_QUEUE_PREFIX: `fpbench-${randomBytes(4).toString('hex')}`,
  FACEPIPE_INDEX_URL: `http://127.0.0.1:${await freePort()}`,
  FACEPIPE_LOG_LEVEL: 'warn',
};
const config = loadAppConfig({}, env);
const children: CliProcess[] = [];

async function stop(child: CliProcess): Promise<void> {
  if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGTERM');
  await child.exited;
}

try {
  for (const person of PERSONS) {
    await mkdir(path.join(dir, 'archive', person), { recursive: true });
    await (await faceImage(person, 0.5)).jpeg().toFile(path.join(dir, 'archive', person, '1.jpg'));
  }
  await mkdir(path.join(dir, 'night', 'cam-1'), { recursive: true });
  for (let i = 0; i < options.snapshots; i++) {
    const person = PERSONS[i % PERSONS.length];
    const margin = 0.8 + 0.1 * (Math.floor(i / PERSONS.length) % 5);
    await (await faceImage(person, margin, true))
      .jpeg({ quality: 70 + (i % 20) })
      .toFile(path.join(dir, 'night', 'cam-1', `${String(i).padStart(4, '0')}.jpg`));
  }

  const serve = startCli(['--threads', '1', 'serve'], env);
  children.push(serve);
  await waitFor(
    'index service ready',
    async () => {
      const response = await fetch(`${config.indexUrl}/readyz`);
      return response.ok ? true : undefined;
    },
    180_000,
  );

  const queue = new Queue(QUEUE_NAMES.identify, queueConnectionOptions(config));
  const figures: { workers: number; seconds: number; snapshotsPerSecond: number; ratio: number }[] = [];
  let enrolled = false;
  for (const count of options.workers) {
    const workers = Array.from({ length: count }, () =>
      startCli(
        [
          '--threads',
          String(options.threads),
          'worker',
          '--queues',
          'enroll,identify',
          '--concurrency',
          String(options.concurrency),
        ],
        env,
      ),
    );
    children.push(...workers);
    await waitFor(
      `${count} worker(s) on the queue`,
      async () => ((await queue.getWorkers()).length >= count ? true : undefined),
      180_000,
      500,
    );
    if (!enrolled) {
      const summary = (await runEnroll(config, { source: path.join(dir, 'archive'), wait: true })) as EnrollRunSummary;
      if (summary.enrolled !== PERSONS.length) throw new Error(`enrolled ${summary.enrolled} of ${PERSONS.length}`);
      await waitFor('the index holds the gallery', async () => {
        const body = (await (await fetch(`${config.indexUrl}/v1/persons`)).json()) as { faces: number };
        return body.faces === PERSONS.length ? true : undefined;
      });
      enrolled = true;
    }
    const started = performance.now();
    const summary = (await runIdentify(config, {
      source: path.join(dir, 'night'),
      run: `workers-${count}`,
      since: '1970-01-01T00:00:00.000Z',
      chunkSize: options.chunk,
      wait: true,
    })) as IdentifyRunSummary;
    const seconds = (performance.now() - started) / 1000;
    if (summary.snapshots !== options.snapshots || summary.failed > 0)
      throw new Error(`run workers-${count}: ${JSON.stringify(summary)}`);
    const snapshotsPerSecond = options.snapshots / seconds;
    const ratio = figures.length === 0 ? 1 : snapshotsPerSecond / figures[0].snapshotsPerSecond;
    figures.push({
      workers: count,
      seconds: Math.round(seconds * 10) / 10,
      snapshotsPerSecond: Math.round(snapshotsPerSecond * 100) / 100,
      ratio: Math.round(ratio * 100) / 100,
    });
    log(
      `${count} worker process(es) x concurrency ${options.concurrency}, ${options.threads} thread(s) each: ` +
        `${options.snapshots} snapshots in ${seconds.toFixed(1)} s, ${snapshotsPerSecond.toFixed(2)} snapshots/s, ` +
        `${ratio.toFixed(2)}x the ${figures[0].workers}-worker run (${summary.faces} faces, ${summary.identified} identified)`,
    );
    for (const worker of workers) await stop(worker);
  }
  await queue.close();
  log(
    JSON.stringify({ snapshots: options.snapshots, chunk: options.chunk, concurrency: options.concurrency, figures }),
  );
} finally {
  for (const child of children) await stop(child);
  for (const name of [QUEUE_NAMES.enroll, QUEUE_NAMES.identify]) {
    const queue = new Queue(name, queueConnectionOptions(config));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  const redis = new Redis(config.redisUrl);
  await redis.del(changeLogKey(config, FACE_MODEL.id));
  const leftovers = await redis.keys(`${config.queuePrefix}:*`);
  if (leftovers.length > 0) await redis.del(...leftovers);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
}
