/**
 * npm run bench:api [-- --faces 100000 --duration 30 --search-clients 50 --identify-clients 8 --vectors 8
 *                       --routes search,identify --cache-dir <dir> --ef <n>]
 *
 * The HTTP API under load (autocannon), against the index service's routes (buildIndexServer) on
 * 127.0.0.1 over an index of `--faces` SYNTHETIC unit vectors of the model's dimension (4 faces per
 * person, built in a worker thread as a rebuild would be, kept in `--cache-dir` for the next run:
 * bench/api-bench-index.ts), with the real engine behind /v1/identify:
 *  1. POST /v1/search?persons: `--vectors` query vectors per request, `--search-clients` connections;
 *  2. POST /v1/identify: a JPEG of one face (from @vladmandic/face-api's demo) per request,
 *     `--identify-clients` connections;
 * for `--duration` s each (the index searched at `--ef`, default the index's own), while GET /healthz is asked every 100 ms on its own connection. The load
 * and the probe run in a child process (bench/api-load.ts): in this one they would share the
 * server's event loop. Prints requests/s, p50/p99 latency, errors and non-2xx of each, the /healthz
 * p50/p99/max, the server's and the load generator's CPU time (process.cpuUsage, every thread) per
 * answer, and the ratio of each figure to the issue's targets (the baseline: search p99 50 ms,
 * /healthz 100 ms). Human lines first; the LAST line is one JSON object.
 */
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { faceImage } from '../test/support/sample-faces.js';
import { galleryIndex, syntheticGallery } from './api-bench-index.js';
import type { LoadFigures, LoadPlan, LoadReport } from './api-load.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';

const ROUTES = ['search', 'identify'] as const;

const options = optionsOrExit('bench:api', () =>
  parseOptions(
    {
      faces: { type: 'string', default: '100000' },
      duration: { type: 'string', default: '30' },
      'search-clients': { type: 'string', default: '50' },
      'identify-clients': { type: 'string', default: '8' },
      vectors: { type: 'string', default: '8' },
      seed: { type: 'string', default: '42' },
      routes: { type: 'string', default: ROUTES.join(',') },
      'cache-dir': { type: 'string', default: join(tmpdir(), 'facepipe-api-bench') },
      ef: { type: 'string', default: '' },
    },
    z.object({
      faces: integer(4),
      duration: integer(1),
      'search-clients': integer(1),
      'identify-clients': integer(1),
      vectors: integer(1),
      seed: integer(),
      routes: z
        .string()
        .transform((s) => s.split(',').map((r) => r.trim()))
        .pipe(z.array(z.enum(ROUTES)).min(1)),
      'cache-dir': z.string().min(1),
      ef: z.literal('').or(integer(1)),
    }),
  ),
);

/** The issue's targets, the baseline the figures are compared with. */
const TARGET_SEARCH_P99_MS = 50;
const TARGET_HEALTHZ_MS = 100;
const DIM = FACE_MODEL.embeddingSize;

// The load generator's script next to this one, run through tsx as this bench is.
const LOAD_SCRIPT = new URL('./api-load.ts', import.meta.url);

/** One load run from a child process, and the server's (this process's) CPU time meanwhile. */
async function load(
  plan: Omit<LoadPlan, 'body'> & { body: Buffer | string },
): Promise<{ load: LoadFigures; health: number[]; loaderCpuMs: number; serverCpuMs: number }> {
  const child = fork(LOAD_SCRIPT, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const cpu = process.cpuUsage();
  const report = await new Promise<LoadReport>((resolve, reject) => {
    child.once('message', (message) => resolve(message as LoadReport));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the load generator exited with code ${code} before reporting`)));
    child.send({ ...plan, body: Buffer.from(plan.body).toString('base64') } satisfies LoadPlan);
  });
  const used = process.cpuUsage(cpu);
  return {
    load: report.load,
    health: report.health.map((x) => x ?? Number.POSITIVE_INFINITY),
    loaderCpuMs: report.cpuMs,
    serverCpuMs: Math.round((used.user + used.system) / 1000),
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function healthFigures(latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    probes: sorted.length,
    p50: round(quantile(sorted, 0.5)),
    p99: round(quantile(sorted, 0.99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
    over100ms: sorted.filter((x) => x >= TARGET_HEALTHZ_MS).length,
  };
}

/** CPU per answer: the server's (engine threads included) and the load generator's, ms. */
function cpuFigures(run: { load: LoadFigures; loaderCpuMs: number; serverCpuMs: number }) {
  const per = (ms: number) => Math.round((ms / Math.max(1, run.load.requests)) * 100) / 100;
  return {
    serverCpuMs: run.serverCpuMs,
    loaderCpuMs: run.loaderCpuMs,
    serverCpuMsPerRequest: per(run.serverCpuMs),
    loaderCpuMsPerRequest: per(run.loaderCpuMs),
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

const built = performance.now();
const gallery = syntheticGallery(options.faces, DIM, options.seed);
const { index, cached } = await galleryIndex(gallery, { dim: DIM, seed: options.seed, cacheDir: options['cache-dir'] });
const buildSeconds = (performance.now() - built) / 1000;
log(
  `index: ${index.size} synthetic faces of ${DIM}-D, ${cached ? `restored from ${options['cache-dir']}` : 'built in a worker thread'} ` +
    `in ${buildSeconds.toFixed(1)} s`,
);

if (options.ef !== '') index.ef = options.ef;
const routes = new Set(options.routes);
const engine = routes.has('identify') ? await FaceEngine.start({}) : undefined;
const app = buildIndexServer({
  index,
  threshold: FACE_MODEL.threshold,
  rule: FACE_MODEL.identification,
  analyze: engine && ((input) => engine.analyze(input)),
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address() as { port: number };
const base = `http://127.0.0.1:${address.port}`;
const summary: Record<string, unknown> = {
  faces: index.size,
  dim: DIM,
  ef: index.ef,
  synthetic: true,
  buildSeconds: Math.round(buildSeconds * 10) / 10,
  indexCached: cached,
  duration: options.duration,
  baseline: { searchP99Ms: TARGET_SEARCH_P99_MS, healthzMs: TARGET_HEALTHZ_MS },
};

try {
  if (routes.has('search')) {
    // Queries near enrolled persons (noisy copies of their centres), as a client would send them.
    const vectors = Array.from({ length: options.vectors }, () =>
      Array.from(gallery.query(), (x) => Number(x.toPrecision(7))),
    );
    const searchBody = JSON.stringify({ vectors, k: 5, persons: true, model: FACE_MODEL.id });
    const check = await fetch(`${base}/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: searchBody,
    });
    if (!check.ok) throw new Error(`/v1/search answered ${check.status}: ${await check.text()}`);
    const run = await load({
      url: `${base}/v1/search`,
      healthUrl: `${base}/healthz`,
      connections: options['search-clients'],
      duration: options.duration,
      contentType: 'application/json',
      body: searchBody,
    });
    const search = run.load;
    const health = healthFigures(run.health);
    const cpu = cpuFigures(run);
    log(
      `/v1/search (${options.vectors} vectors, ${options['search-clients']} clients, ${options.duration} s): ` +
        `${search.okPerSecond} answers 2xx/s (${search.rps} req/s), p50 ${search.p50} ms, p99 ${search.p99} ms, ${search.errors} errors, ` +
        `${search.non2xx} non-2xx, ${search.timeouts} timeouts; p99 / target ${TARGET_SEARCH_P99_MS} ms = ` +
        `${(search.p99 / TARGET_SEARCH_P99_MS).toFixed(2)}`,
    );
    log(
      `  CPU: server ${cpu.serverCpuMsPerRequest} ms per request (${cpu.serverCpuMs} ms), load generator ` +
        `${cpu.loaderCpuMsPerRequest} ms per request (${cpu.loaderCpuMs} ms)`,
    );
    log(
      `  /healthz meanwhile: p50 ${health.p50} ms, p99 ${health.p99} ms, max ${health.max} ms, ` +
        `${health.over100ms} of ${health.probes} over ${TARGET_HEALTHZ_MS} ms`,
    );
    summary.search = {
      clients: options['search-clients'],
      vectors: options.vectors,
      ...search,
      ...cpu,
      healthz: health,
    };
  }

  if (routes.has('identify')) {
    // One face per image, analysed by the engine, then searched.
    const image = await (await faceImage('A', 1, true)).jpeg({ quality: 80 }).toBuffer();
    const { width, height } = await sharp(image).metadata();
    const warm = await fetch(`${base}/v1/identify`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: image,
    });
    if (!warm.ok) throw new Error(`/v1/identify answered ${warm.status}: ${await warm.text()}`);
    const run = await load({
      url: `${base}/v1/identify`,
      healthUrl: `${base}/healthz`,
      connections: options['identify-clients'],
      duration: options.duration,
      contentType: 'image/jpeg',
      body: image,
    });
    const identify = run.load;
    const health = healthFigures(run.health);
    const cpu = cpuFigures(run);
    log(
      `/v1/identify (${width}x${height} JPEG, ${options['identify-clients']} clients, ${options.duration} s): ` +
        `${identify.okPerSecond} answers 2xx/s (${identify.rps} req/s), p50 ${identify.p50} ms, p99 ${identify.p99} ms ` +
        `(of every answer), ${identify.errors} errors, ${identify.non2xx} non-2xx, ${identify.timeouts} timeouts`,
    );
    log(
      `  CPU: server ${cpu.serverCpuMsPerRequest} ms per request (${cpu.serverCpuMs} ms, engine threads included), ` +
        `load generator ${cpu.loaderCpuMsPerRequest} ms per request`,
    );
    log(
      `  /healthz meanwhile: p50 ${health.p50} ms, p99 ${health.p99} ms, max ${health.max} ms, ` +
        `${health.over100ms} of ${health.probes} over ${TARGET_HEALTHZ_MS} ms; ` +
        `p99 / target ${TARGET_HEALTHZ_MS} ms = ${(health.p99 / TARGET_HEALTHZ_MS).toFixed(2)}`,
    );
    summary.identify = { clients: options['identify-clients'], ...identify, ...cpu, healthz: health };
  }
  log(JSON.stringify(summary));
} finally {
  await app.close();
  await engine?.close();
}
