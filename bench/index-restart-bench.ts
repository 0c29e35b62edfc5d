/**
 * npm run bench:index-restart -- --storage /tmp/index-bench-store [--model bench-index --dim 128]
 *
 * How long the index service is unavailable across a restart (issue 21 §5): a real service process
 * (startIndexService, what `facepipe serve` runs) on a folder storage that holds a snapshot written
 * by `npm run bench:index -- --snapshot-dir <folder>` (same --model and --dim), with Redis at
 * FACEPIPE_REDIS_URL (default 127.0.0.1:6379) under a random prefix, removed at the end.
 *
 *  1. One no-op entry goes into a fresh change log (a segment the gallery does not hold) and the
 *     snapshot's meta.json is pointed at it: the snapshot is then what a service following this log
 *     would have written, so a start restores it instead of building from the (empty) gallery.
 *  2. Cold start: process spawned -> /readyz 200.
 *  3. Restart: the process killed with SIGKILL -> a new one spawned -> /readyz 200 (the
 *     unavailability), with when /healthz first answered, and the new process's CPU time and
 *     resident memory then (the whole service: Node, HTTP server, index).
 * Human lines first; the LAST line is one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { loadAppConfig } from '../src/config/app-config.js';
import { BASE_MODEL } from '../src/engine/embedding-model.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { IndexSnapshotStore } from '../src/index/index-snapshot-store.js';
import { startIndexService } from '../src/index/index-service-runtime.js';
import { ChangeLog } from '../src/queue/change-log.js';
import { changeLogKey } from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';

const options = optionsOrExit('bench:index-restart', () =>
  parseOptions(
    {
      storage: { type: 'string', default: '' },
      model: { type: 'string', default: 'bench-index' },
      dim: { type: 'string', default: '128' },
      /** Internal: run as the service process on this port. */
      serve: { type: 'string', default: '' },
      prefix: { type: 'string', default: '' },
    },
    z.object({
      storage: z.string().min(1, 'the folder bench:index --snapshot-dir wrote'),
      model: z.string().min(1),
      dim: integer(1),
      serve: z.union([z.literal(''), integer(1)]),
      prefix: z.string(),
    }),
  ),
);

const env = (prefix: string) => ({ FACEPIPE_STORAGE: options.storage, FACEPIPE_QUEUE_PREFIX: prefix });
const model = { ...BASE_MODEL, id: options.model, embeddingSize: options.dim };

if (options.serve !== '') {
  // ---- the service process --------------------------------------------------------------------
  const config = loadAppConfig({}, { ...process.env, ...env(options.prefix) });
  const running = await startIndexService(config, {
    port: options.serve,
    host: '127.0.0.1',
    model,
    // No snapshot writes while measured: the bench kills this process anyway.
    service: { snapshotEveryChanges: 1e9, snapshotEveryMs: 1e9 },
  });
  // The snapshot's raw bytes are garbage once restored; collect them now (a long-running service's
  // V8 does on its own schedule) so that the bench's settled RSS is the index's.
  globalThis.gc?.();
  process.stderr.write(`bench service ready at ${running.url}\n`);
  process.once('SIGTERM', () => void running.close().then(() => process.exit(0)));
} else {
  // ---- the bench --------------------------------------------------------------------------------
  const prefix = `fpbench-${randomBytes(4).toString('hex')}`;
  const config = loadAppConfig({}, { ...process.env, ...env(prefix) });
  const storage = new FolderStorage(options.storage);
  const snapshots = new IndexSnapshotStore(storage, model.id);
  const [newest] = (await snapshots.list()).filter((s) => s.complete);
  if (!newest) throw new Error(`no complete snapshot of model ${model.id} under ${options.storage}`);
  const redis = new Redis(config.redisUrl);
  const logKey = changeLogKey(config, model.id);
  const children: ChildProcess[] = [];
  try {
    const gallery = new GalleryStore(storage, model.id, undefined, { embeddingSize: model.embeddingSize });
    const position = await new ChangeLog(redis, logKey).publish({
      type: 'segment',
      key: `${gallery.prefix}segments/bench-restart-no-such-segment`,
    });
    const metaKey = `${snapshots.prefix}${newest.name}/meta.json`;
    const meta = JSON.parse(Buffer.from(await storage.get(metaKey)).toString('utf8'));
    await storage.put(metaKey, JSON.stringify({ ...meta, changePosition: position }));
    console.log(`snapshot ${newest.name}: ${meta.faces} faces; change log ${logKey} at ${position}`);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const start = () => {
      const script = fileURLToPath(import.meta.url);
      const args = ['--import', 'tsx', script, '--storage', options.storage, '--model', options.model];
      args.push('--dim', String(options.dim), '--serve', String(port), '--prefix', prefix);
      const child = spawn(process.execPath, args, {
        env: { ...process.env, NODE_OPTIONS: '--expose-gc', FACEPIPE_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      return child;
    };

    const cold = await untilReady(start(), url);
    console.log(
      `cold start: /healthz after ${cold.healthz.toFixed(1)} s, /readyz ok after ${cold.ready.toFixed(1)} s ` +
        `(service CPU ${cold.cpu.toFixed(1)} s)`,
    );
    const first = children[0];
    const killedAt = performance.now();
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const restart = await untilReady(start(), url, killedAt);
    console.log(
      `restart (SIGKILL -> new process): /healthz after ${restart.healthz.toFixed(1)} s, ` +
        `/readyz ok after ${restart.ready.toFixed(1)} s (service CPU ${restart.cpu.toFixed(1)} s)  (target < 60 s); ` +
        `service RSS ${restart.rssMB.toFixed(0)} MB`,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const settledMB = rssMB(children[1].pid!);
    console.log(`service RSS 3 s after ready (garbage collected): ${settledMB.toFixed(0)} MB`);
    // It came back from the snapshot, whole (not from the empty gallery).
    const status = (await (await fetch(`${url}/v1/index`)).json()) as { faces: number; loadedFrom: string };
    console.log(`after the restart: ${status.faces} faces, loaded from ${status.loadedFrom}`);
    if (status.faces !== meta.faces || !status.loadedFrom.startsWith('snapshot'))
      throw new Error('the restarted service did not load the snapshot');
    const round = (x: number) => Number(x.toFixed(2));
    console.log(
      JSON.stringify({
        faces: status.faces,
        loadedFrom: status.loadedFrom,
        coldReadySeconds: round(cold.ready),
        restartHealthzSeconds: round(restart.healthz),
        restartUnavailableSeconds: round(restart.ready),
        restartServiceCpuSeconds: round(restart.cpu),
        serviceRssMB: round(restart.rssMB),
        serviceSettledRssMB: round(settledMB),
        serviceBytesPerFace: Math.round((settledMB * 2 ** 20) / Math.max(1, status.faces)),
      }),
    );
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

/** Seconds from `since` until /healthz and /readyz answer 200, and the process's CPU seconds then. */
async function untilReady(
  child: ChildProcess,
  url: string,
  since = performance.now(),
): Promise<{ healthz: number; ready: number; cpu: number; rssMB: number }> {
  let healthz: number | undefined;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service process exited with code ${child.exitCode}`);
    healthz ??= (await ok(`${url}/healthz`)) ? (performance.now() - since) / 1000 : undefined;
    if (healthz !== undefined && (await ok(`${url}/readyz`)))
      return {
        healthz,
        ready: (performance.now() - since) / 1000,
        cpu: cpuSeconds(child.pid!),
        rssMB: rssMB(child.pid!),
      };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ok(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/** Resident memory of a process, MiB (Linux /proc). */
function rssMB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) / 1024 : Number.NaN;
}

/** utime + stime of a process (Linux /proc; 100 clock ticks per second). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
