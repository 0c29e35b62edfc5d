/**
 * npm run bench:index [-- --n 200000 --dim 128 --ef 96 --m 16 --ef-construction 100 --shards 2
 *                        --queries 1000 --sweep 16,32,64,128 --snapshot-dir /tmp/index-bench-store]
 *
 * Builds a FaceIndex over N synthetic unit vectors clustered like face embeddings and measures it
 * against exact search:
 *  - persons = N/4, each a random unit centre (with a shared mean direction, as real embeddings
 *    have), 4 faces per person = centre + gaussian noise, renormalised. sigma is set so that
 *    same-person distances are ~0.5 and different-person distances ~1.3;
 *  - 1,000 held-out queries: noisy copies of random centres (not in the index);
 *  - the build as the service does it (buildIndexInWorker: one shard per core from SHARD_MIN_FACES
 *    up, each in its own worker thread): wall time and CPU time (process.cpuUsage, which sums every
 *    thread of the process, worker threads included);
 *  - RSS after the build, bytes per face, recall@1 and recall@10 against exact search, single-query
 *    p50/p99 latency at the chosen ef (default: the index's own, efForShardSize), and a recall /
 *    latency sweep over other ef values;
 *  - with --snapshot-dir: snapshot write (serialize + IndexSnapshotStore.save to a folder) and
 *    restore (IndexSnapshotStore.loadNewest) times. The folder is left for bench/index-restart-bench.ts.
 * Human lines first; the LAST line is one JSON object.
 */
import { z } from 'zod';
import { buildIndexInWorker } from '../src/index/build-index-in-worker.js';
import { DEFAULT_M, efConstructionFor, exactTopK, type FaceRecord } from '../src/index/face-index.js';
import { IndexSnapshotStore } from '../src/index/index-snapshot-store.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { prng } from '../test/support/synthetic-embeddings.js';
import { integer, numberList, optionsOrExit, parseOptions } from './bench-options.js';

const options = optionsOrExit('bench:index', () =>
  parseOptions(
    {
      n: { type: 'string', default: '200000' },
      dim: { type: 'string', default: '128' },
      /** Query ef ('': the index's own, which follows its size). */
      ef: { type: 'string', default: '' },
      m: { type: 'string', default: String(DEFAULT_M) },
      /** efConstruction ('': efConstructionFor(n), as the service builds). */
      'ef-construction': { type: 'string', default: '' },
      /** Shards ('': shardsFor(n, cores), as the service builds). */
      shards: { type: 'string', default: '' },
      /** A folder to write and read back a snapshot in ('': no snapshot timing). */
      'snapshot-dir': { type: 'string', default: '' },
      model: { type: 'string', default: 'bench-index' },
      queries: { type: 'string', default: '1000' },
      /** ef values of the recall / latency sweep ('': none). */
      sweep: { type: 'string', default: '16,32,48,64,96,128' },
      seed: { type: 'string', default: '42' },
    },
    z.object({
      n: integer(4),
      dim: integer(2),
      ef: z.union([z.literal(''), integer(1)]),
      m: integer(2),
      'ef-construction': z.union([z.literal(''), integer(1)]),
      shards: z.union([z.literal(''), integer(1)]),
      'snapshot-dir': z.string(),
      model: z.string().min(1),
      queries: integer(1),
      sweep: numberList(z.number().int().min(1), 0),
      seed: integer(),
    }),
  ),
);
const { n: N, dim: DIM, m: M, queries: Q, sweep: SWEEP } = options;
const EF = options.ef === '' ? undefined : options.ef;
const EF_CONSTRUCTION = options['ef-construction'] === '' ? efConstructionFor(N) : options['ef-construction'];
const FACES_PER_PERSON = 4;

const rand = prng(options.seed);
let spare: number | null = null;
function gaussian(): number {
  if (spare !== null) {
    const s = spare;
    spare = null;
    return s;
  }
  const u = Math.max(rand(), 1e-12);
  const r = Math.sqrt(-2 * Math.log(u));
  const t = 2 * Math.PI * rand();
  spare = r * Math.sin(t);
  return r * Math.cos(t);
}
function normalise(v: Float32Array, offset = 0, dim = v.length): void {
  let s = 0;
  for (let i = 0; i < dim; i++) s += v[offset + i] * v[offset + i];
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < dim; i++) v[offset + i] *= inv;
}

// Noise: after renormalisation two faces of one person are ~ sqrt(2) * s / sqrt(1 + s^2) apart,
// s = sigma * sqrt(dim); s = 0.378 gives ~0.5.
const SIGMA = 0.378 / Math.sqrt(DIM);
// Centres share a mean direction so that different persons are ~1.3 apart instead of sqrt(2).
const SHARED = 0.43;

const persons = Math.max(1, Math.floor(N / FACES_PER_PERSON));
const mean = new Float32Array(DIM).map(() => gaussian());
normalise(mean);
const centres = new Float32Array(persons * DIM);
for (let p = 0; p < persons; p++) {
  const o = p * DIM;
  for (let i = 0; i < DIM; i++) centres[o + i] = gaussian() / Math.sqrt(DIM) + SHARED * mean[i];
  normalise(centres, o, DIM);
}
function noisyCopy(person: number, out: Float32Array, offset: number): void {
  const o = person * DIM;
  for (let i = 0; i < DIM; i++) out[offset + i] = centres[o + i] + SIGMA * gaussian();
  normalise(out, offset, DIM);
}
const data = new Float32Array(N * DIM);
for (let f = 0; f < N; f++) noisyCopy(Math.floor(f / FACES_PER_PERSON) % persons, data, f * DIM);
const queryData = new Float32Array(Q * DIM);
for (let q = 0; q < Q; q++) noisyCopy(Math.floor(rand() * persons), queryData, q * DIM);
const queries = Array.from({ length: Q }, (_, q) => queryData.subarray(q * DIM, (q + 1) * DIM));

function dist(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}
if (N >= 8) {
  const row = (f: number) => data.subarray(f * DIM, (f + 1) * DIM);
  console.log(
    `data: ${N} faces, ${persons} persons, dim ${DIM}; same-person distance ~${dist(row(0), row(1)).toFixed(2)}, ` +
      `different ~${dist(row(0), row(4)).toFixed(2)}`,
  );
}

// ---- build ----------------------------------------------------------------------------------
const faces: FaceRecord[] = [];
for (let g = 0; g < N; g++) {
  const p = Math.floor(g / FACES_PER_PERSON) % persons;
  faces.push({ faceId: `f${g}`, personId: `p${p}`, embedding: data.subarray(g * DIM, (g + 1) * DIM) });
}
globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
const cpuStart = process.cpuUsage();
const start = performance.now();
const index = await buildIndexInWorker(faces, {
  dim: DIM,
  m: M,
  efConstruction: EF_CONSTRUCTION,
  ef: EF,
  ...(options.shards === '' ? {} : { shards: options.shards }),
});
const buildSeconds = (performance.now() - start) / 1000;
const buildCpu = process.cpuUsage(cpuStart);
const buildCpuSeconds = (buildCpu.user + buildCpu.system) / 1e6;
faces.length = 0;
globalThis.gc?.();
const rssAfter = process.memoryUsage().rss;
const defaultEf = index.ef;
console.log(
  `build: ${buildSeconds.toFixed(1)} s wall, ${buildCpuSeconds.toFixed(1)} s CPU (all threads) ` +
    `(${((buildSeconds * 1e6) / N).toFixed(0)} µs/face wall; ${index.shardCount} shard(s), M ${M}, ` +
    `efConstruction ${index.efConstruction}), RSS ${(rssAfter / 2 ** 20).toFixed(0)} MB, ` +
    `${((rssAfter - rssBefore) / N).toFixed(0)} bytes/face; default ef ${defaultEf}`,
);

// ---- exact reference (over our own copy of the data: same float32 values the index holds) ------
const exactStart = performance.now();
const exact = exactTopK(data, N, DIM, queries, 10).map((best) => best.map(({ row }) => `f${row}`));
console.log(`exact search: ${Q} queries in ${((performance.now() - exactStart) / 1000).toFixed(1)} s`);

// ---- approximate: recall and single-query latency ----------------------------------------------
function measure(ef: number) {
  index.ef = ef;
  for (let i = 0; i < Math.min(50, Q); i++) index.search([queries[i]], 10); // warm up
  const times: number[] = [];
  let hit1 = 0;
  let hit10 = 0;
  for (let i = 0; i < Q; i++) {
    const t0 = performance.now();
    const [res] = index.search([queries[i]], 10);
    times.push(performance.now() - t0);
    if (res[0]?.faceId === exact[i][0]) hit1++;
    const truth = new Set(exact[i]);
    for (const m of res) if (truth.has(m.faceId)) hit10++;
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { ef, recallAt1: hit1 / Q, recallAt10: hit10 / (Q * Math.min(10, N)), p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

for (const ef of SWEEP) {
  const r = measure(ef);
  console.log(
    `  ef ${String(ef).padStart(4)}: recall@1 ${r.recallAt1.toFixed(3)}, recall@10 ${r.recallAt10.toFixed(3)}, ` +
      `p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms`,
  );
}
const result = measure(EF ?? defaultEf);
if (EF === undefined) index.useDefaultEf();
console.log(
  `at ef ${result.ef}${EF === undefined ? ' (the default for this size)' : ''}: recall@1 ${result.recallAt1.toFixed(4)}, recall@10 ${result.recallAt10.toFixed(4)}, ` +
    `p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms` +
    `  (targets: recall@1 >= 0.99, p50 <= 1 ms)`,
);

// ---- snapshot write and restore ------------------------------------------------------------------
let snapshot: { writeSeconds: number; restoreSeconds: number; bytes: number } | undefined;
if (options['snapshot-dir'] !== '') {
  const store = new IndexSnapshotStore(new FolderStorage(options['snapshot-dir']), options.model);
  const w0 = performance.now();
  const serialized = index.serialize();
  const bytes = serialized.index.length;
  await store.save(serialized, {
    createdAt: new Date().toISOString(),
    changePosition: '0-0',
    deletions: {},
    faces: index.size,
    persons: index.persons().length,
    m: index.m,
    efConstruction: index.efConstruction,
  });
  const writeSeconds = (performance.now() - w0) / 1000;
  const r0 = performance.now();
  const loaded = await store.loadNewest();
  const restoreSeconds = (performance.now() - r0) / 1000;
  if (loaded?.index.size !== index.size) throw new Error('the snapshot read back does not hold every face');
  snapshot = { writeSeconds, restoreSeconds, bytes };
  console.log(
    `snapshot: ${(bytes / 2 ** 20).toFixed(0)} MB index bytes; write ${writeSeconds.toFixed(1)} s, ` +
      `restore ${restoreSeconds.toFixed(1)} s (${options['snapshot-dir']}, model ${options.model})`,
  );
}
const round = (x: number, d: number) => Number(x.toFixed(d));
console.log(
  JSON.stringify({
    n: N,
    buildSeconds: round(buildSeconds, 2),
    buildCpuSeconds: round(buildCpuSeconds, 2),
    shards: index.shardCount,
    m: M,
    efConstruction: index.efConstruction,
    rssMB: round(rssAfter / 2 ** 20, 1),
    bytesPerFace: Math.round((rssAfter - rssBefore) / N),
    recallAt1: round(result.recallAt1, 4),
    recallAt10: round(result.recallAt10, 4),
    p50Ms: round(result.p50Ms, 4),
    p99Ms: round(result.p99Ms, 4),
    ef: result.ef,
    ...(snapshot
      ? {
          snapshotWriteSeconds: round(snapshot.writeSeconds, 2),
          snapshotRestoreSeconds: round(snapshot.restoreSeconds, 2),
          snapshotBytes: snapshot.bytes,
        }
      : {}),
  }),
);
