/**
 * npm run bench:api [-- --faces 100000 --duration 30 --search-clients 50 --identify-clients 8 --vectors 8]
 *
 * The HTTP API under load (autocannon), against the index service's routes (buildIndexServer) on
 * 127.0.0.1 over an index of `--faces` SYNTHETIC unit vectors of the model's dimension (4 faces per
 * person, built in a worker thread as a rebuild would be), with the real engine behind /v1/identify:
 *  1. POST /v1/search?persons: `--vectors` query vectors per request, `--search-clients` connections;
 *  2. POST /v1/identify: a JPEG of one face (from @vladmandic/face-api's demo) per request,
 *     `--identify-clients` connections;
 * for `--duration` s each, while GET /healthz is asked every 100 ms on its own connection.
 * Prints requests/s, p50/p99 latency, errors and non-2xx of each, the /healthz p50/p99/max, and the
 * ratio of each figure to the targets (the baseline: search p99 50 ms, /healthz 100 ms).
 * Human lines first; the LAST line is one JSON object.
 */
import autocannon from 'autocannon';
import sharp from 'sharp';
import { z } from 'zod';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { buildIndexInWorker } from '../src/index/build-index-in-worker.js';
import type { FaceRecord } from '../src/index/face-index.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { prng } from '../test/support/synthetic-embeddings.js';
import { faceImage } from '../test/support/sample-faces.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';

const options = optionsOrExit('bench:api', () =>
  parseOptions(
    {
      faces: { type: 'string', default: '100000' },
      duration: { type: 'string', default: '30' },
      'search-clients': { type: 'string', default: '50' },
      'identify-clients': { type: 'string', default: '8' },
      vectors: { type: 'string', default: '8' },
      seed: { type: 'string', default: '42' },
    },
    z.object({
      faces: integer(4),
      duration: integer(1),
      'search-clients': integer(1),
      'identify-clients': integer(1),
      vectors: integer(1),
      seed: integer(),
    }),
  ),
);

/** The targets, the baseline the figures are compared with. */
const TARGET_SEARCH_P99_MS = 50;
const TARGET_HEALTHZ_MS = 100;
const DIM = FACE_MODEL.embeddingSize;
const rand = prng(options.seed);

function gaussian(): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function unitVector(centre?: Float32Array, sigma = 0): Float32Array {
  const v = new Float32Array(DIM);
  let norm = 0;
  for (let i = 0; i < DIM; i++) {
    v[i] = centre ? centre[i] + sigma * gaussian() : gaussian();
    norm += v[i] * v[i];
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < DIM; i++) v[i] /= norm;
  return v;
}

/** 4 faces per person: a random centre plus noise (same-person distances well under different-person ones). */
function syntheticFaces(n: number): { faces: FaceRecord[]; centres: Float32Array[] } {
  const faces: FaceRecord[] = [];
  const centres: Float32Array[] = [];
  const sigma = 0.5 / Math.sqrt(2 * DIM);
  for (let p = 0; faces.length < n; p++) {
    const centre = unitVector();
    centres.push(centre);
    for (let f = 0; f < 4 && faces.length < n; f++)
      faces.push({ faceId: `p${p}-f${f}`, personId: `p${p}`, embedding: Array.from(unitVector(centre, sigma)) });
  }
  return { faces, centres };
}

interface Load {
  requests: number;
  /** Answers 2xx, and those per second: the throughput (a 503 BUSY is answered fast and counts only in `non2xx`). */
  ok: number;
  okPerSecond: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  timeouts: number;
}

async function load(url: string, connections: number, body: Buffer | string, contentType: string): Promise<Load> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: options.duration,
    headers: { 'content-type': contentType },
    body,
  });
  return {
    requests: result.requests.total,
    ok: result['2xx'],
    okPerSecond: Math.round((result['2xx'] / options.duration) * 10) / 10,
    rps: Math.round(result.requests.average * 10) / 10,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
  };
}

/** GET /healthz every 100 ms until stopped; the latencies in ms (a failed probe counts as Infinity). */
function probeHealth(base: string): { stop: () => Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const response = await fetch(`${base}/healthz`);
        await response.arrayBuffer();
        latencies.push(response.ok ? performance.now() - started : Number.POSITIVE_INFINITY);
      } catch {
        latencies.push(Number.POSITIVE_INFINITY);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return latencies;
    },
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

const log = (line: string) => process.stdout.write(`${line}\n`);

const built = performance.now();
const { faces, centres } = syntheticFaces(options.faces);
const index = await buildIndexInWorker(faces, { dim: DIM, initialCapacity: faces.length });
const buildSeconds = (performance.now() - built) / 1000;
log(`index: ${index.size} synthetic faces of ${DIM}-D, built in a worker thread in ${buildSeconds.toFixed(1)} s`);

const engine = await FaceEngine.start({});
const app = buildIndexServer({
  index,
  threshold: FACE_MODEL.threshold,
  rule: FACE_MODEL.identification,
  analyze: (input) => engine.analyze(input),
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address() as { port: number };
const base = `http://127.0.0.1:${address.port}`;

try {
  // 1. search: queries near enrolled persons (noisy copies of their centres).
  const vectors = Array.from({ length: options.vectors }, () =>
    Array.from(unitVector(centres[Math.floor(rand() * centres.length)], 0.5 / Math.sqrt(2 * DIM)), (x) =>
      Number(x.toPrecision(7)),
    ),
  );
  const searchBody = JSON.stringify({ vectors, k: 5, persons: true, model: FACE_MODEL.id });
  const check = await fetch(`${base}/v1/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: searchBody,
  });
  if (!check.ok) throw new Error(`/v1/search answered ${check.status}: ${await check.text()}`);
  let health = probeHealth(base);
  const search = await load(`${base}/v1/search`, options['search-clients'], searchBody, 'application/json');
  const searchHealth = healthFigures(await health.stop());
  log(
    `/v1/search (${options.vectors} vectors, ${options['search-clients']} clients, ${options.duration} s): ` +
      `${search.okPerSecond} answers 2xx/s (${search.rps} req/s), p50 ${search.p50} ms, p99 ${search.p99} ms, ${search.errors} errors, ` +
      `${search.non2xx} non-2xx, ${search.timeouts} timeouts; p99 / target ${TARGET_SEARCH_P99_MS} ms = ` +
      `${(search.p99 / TARGET_SEARCH_P99_MS).toFixed(2)}`,
  );
  log(
    `  /healthz meanwhile: p50 ${searchHealth.p50} ms, p99 ${searchHealth.p99} ms, max ${searchHealth.max} ms, ` +
      `${searchHealth.over100ms} of ${searchHealth.probes} over ${TARGET_HEALTHZ_MS} ms`,
  );

  // 2. identify: one face per image, analysed by the engine, then searched.
  const image = await (await faceImage('A', 1, true)).jpeg({ quality: 80 }).toBuffer();
  const { width, height } = await sharp(image).metadata();
  const warm = await fetch(`${base}/v1/identify`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: image,
  });
  if (!warm.ok) throw new Error(`/v1/identify answered ${warm.status}: ${await warm.text()}`);
  health = probeHealth(base);
  const identify = await load(`${base}/v1/identify`, options['identify-clients'], image, 'image/jpeg');
  const identifyHealth = healthFigures(await health.stop());
  log(
    `/v1/identify (${width}x${height} JPEG, ${options['identify-clients']} clients, ${options.duration} s): ` +
      `${identify.okPerSecond} answers 2xx/s (${identify.rps} req/s), p50 ${identify.p50} ms, p99 ${identify.p99} ms ` +
      `(of every answer, 503 included), ${identify.errors} errors, ${identify.non2xx} non-2xx (503 BUSY beyond ` +
      `the image slots), ${identify.timeouts} timeouts`,
  );
  log(
    `  /healthz meanwhile: p50 ${identifyHealth.p50} ms, p99 ${identifyHealth.p99} ms, max ${identifyHealth.max} ms, ` +
      `${identifyHealth.over100ms} of ${identifyHealth.probes} over ${TARGET_HEALTHZ_MS} ms; ` +
      `p99 / target ${TARGET_HEALTHZ_MS} ms = ${(identifyHealth.p99 / TARGET_HEALTHZ_MS).toFixed(2)}`,
  );
  log(
    JSON.stringify({
      faces: index.size,
      dim: DIM,
      synthetic: true,
      buildSeconds: Math.round(buildSeconds * 10) / 10,
      duration: options.duration,
      search: { clients: options['search-clients'], vectors: options.vectors, ...search, healthz: searchHealth },
      identify: { clients: options['identify-clients'], ...identify, healthz: identifyHealth },
      baseline: { searchP99Ms: TARGET_SEARCH_P99_MS, healthzMs: TARGET_HEALTHZ_MS },
    }),
  );
} finally {
  await app.close();
  await engine.close();
}
