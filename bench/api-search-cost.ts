/**
 * npm run bench:api-cost [-- --faces 100000 --queries 200 --reps 100 --ef 16,32,48,64,96 --cache-dir <dir>]
 *
 * Where the CPU of one /v1/search request (8 vectors, persons) goes, on bench:api's synthetic
 * gallery (bench/api-bench-index.ts, the same cache): JSON.parse of the body, zod validation, the
 * index's person search at each `--ef`, and the whole request through fastify (app.inject: no
 * socket). CPU time (process.cpuUsage, this process) per request, so the figures hold on a loaded
 * machine; then the CPU a request costs times the rate the target needs (Little's law: 50
 * clients and p99 under 50 ms need over 1,000 requests/s) against the 2,000 CPU-ms a second that
 * 2 cores give. For each ef also the 1:N decisions (the model's rule) of `--queries` probes (half
 * near enrolled persons, half strangers) against the same decisions on an exact search, and
 * recall@1 of the closest person (the closest face's person: a person's 4 faces are near-equidistant
 * from a probe, so which of them is closest says little). Human lines first; the LAST line is one JSON object.
 */
import { z } from 'zod';
import { FACE_MODEL } from '../src/engine/face-model.js';
import {
  identifyFace,
  personsToFetch,
  RULE_PERSONS,
  type DecisionRule,
} from '../src/identification/identification-rule.js';
import { searchBodySchema } from '../src/index/index-api-schemas.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { galleryIndex, syntheticGallery } from './api-bench-index.js';
import { integer, numberList, optionsOrExit, parseOptions } from './bench-options.js';

const options = optionsOrExit('bench:api-cost', () =>
  parseOptions(
    {
      faces: { type: 'string', default: '100000' },
      queries: { type: 'string', default: '200' },
      reps: { type: 'string', default: '100' },
      vectors: { type: 'string', default: '8' },
      ef: { type: 'string', default: '16,32,48,64,96' },
      seed: { type: 'string', default: '42' },
      'cache-dir': { type: 'string', default: join(tmpdir(), 'facepipe-api-bench') },
    },
    z.object({
      faces: integer(4),
      queries: integer(2),
      reps: integer(1),
      vectors: integer(1),
      ef: numberList(z.number().int().min(1)),
      seed: integer(),
      'cache-dir': z.string().min(1),
    }),
  ),
);

const DIM = FACE_MODEL.embeddingSize;
/** The target: p99 under 50 ms at 50 clients needs at least 50 / 0.05 = 1,000 requests/s. */
const TARGET_RPS = 50 / 0.05;
const CORES_CPU_MS_PER_S = 2 * 1000;
const log = (line: string) => process.stdout.write(`${line}\n`);
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** CPU ms per call of `fn` (after a few warm-up calls). */
async function cpuPerCall(reps: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const start = process.cpuUsage();
  for (let i = 0; i < reps; i++) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / reps;
}

const gallery = syntheticGallery(options.faces, DIM, options.seed);
const { index } = await galleryIndex(gallery, { dim: DIM, seed: options.seed, cacheDir: options['cache-dir'] });
const defaultEf = index.ef;
log(`index: ${index.size} synthetic faces of ${DIM}-D, default ef ${defaultEf}`);

const vectors = Array.from({ length: options.vectors }, () =>
  Array.from(gallery.query(), (x) => Number(x.toPrecision(7))),
);
const body = JSON.stringify({ vectors, k: 5, persons: true, model: FACE_MODEL.id });
const parsed = JSON.parse(body) as unknown;
const fetchPersons = personsToFetch(5);

const stages: Record<string, number> = {
  jsonParse: await cpuPerCall(options.reps, () => JSON.parse(body)),
  zodValidation: await cpuPerCall(options.reps, () => searchBodySchema.parse(parsed)),
};
const searchAtEf: Record<number, number> = {};
for (const ef of options.ef) {
  index.ef = ef;
  searchAtEf[ef] = await cpuPerCall(options.reps, () => index.searchPersons(vectors, fetchPersons));
}
index.ef = defaultEf;
const app = buildIndexServer({ index, threshold: FACE_MODEL.threshold, rule: FACE_MODEL.identification });
await app.ready();
const inject = async () => {
  const answer = await app.inject({
    method: 'POST',
    url: '/v1/search',
    headers: { 'content-type': 'application/json' },
    payload: body,
  });
  if (answer.statusCode !== 200) throw new Error(`/v1/search answered ${answer.statusCode}: ${answer.body}`);
};
stages.wholeRequestInject = await cpuPerCall(options.reps, inject);
await app.close();
stages.searchPersonsAtDefaultEf = searchAtEf[defaultEf] ?? Number.NaN;

log(`CPU ms per request (${options.vectors} vectors, ${body.length} bytes of JSON):`);
for (const [stage, ms] of Object.entries(stages)) log(`  ${stage}: ${round(ms)} ms`);
for (const ef of options.ef) log(`  searchPersons at ef ${ef}: ${round(searchAtEf[ef])} ms`);
const needed = stages.wholeRequestInject * TARGET_RPS;
log(
  `  x ${TARGET_RPS} requests/s (the target's rate) = ${Math.round(needed)} CPU-ms per second, ` +
    `${round(needed / CORES_CPU_MS_PER_S, 2)}x what 2 cores give (${CORES_CPU_MS_PER_S}), before sockets and the load generator`,
);

// Decisions at each ef against the exact search's.
const rule: DecisionRule = { ...FACE_MODEL.identification, maxDistance: FACE_MODEL.threshold };
const probes: Array<{ vector: Float32Array; stranger: boolean }> = [];
for (let i = 0; i < options.queries; i++) {
  const stranger = i % 2 === 1;
  probes.push({
    vector: stranger ? syntheticGallery(1, DIM, options.seed + 1 + i).centres[0] : gallery.query(),
    stranger,
  });
}
const exactFaces = 4 * RULE_PERSONS * 4; // 4 faces a person: enough faces to hold RULE_PERSONS persons
// One exact search of every probe: it reads the whole index back once per call.
const exact = index
  .exactSearch(
    probes.map((p) => p.vector),
    exactFaces,
  )
  .map((hits) => ({ top: hits[0]?.personId, decision: identifyFace(hits, 5, rule).personId }));
const agreement: Record<number, { decisionsAgree: number; recallAt1: number; named: number }> = {};
for (const ef of options.ef) {
  index.ef = ef;
  let agree = 0;
  let top = 0;
  let named = 0;
  probes.forEach(({ vector }, i) => {
    const hits = index.searchPersons([vector], fetchPersons)[0];
    const decided = identifyFace(hits, 5, rule).personId;
    if (decided === exact[i].decision) agree++;
    if (decided !== null) named++;
    if (hits[0]?.personId === exact[i].top) top++;
  });
  agreement[ef] = { decisionsAgree: round(agree / probes.length), recallAt1: round(top / probes.length), named };
  log(
    `  ef ${ef}: decisions as exact search's ${agree} of ${probes.length}, recall@1 ${agreement[ef].recallAt1}, ` +
      `${named} named (exact: ${exact.filter((e) => e.decision !== null).length})`,
  );
}
index.ef = defaultEf;

log(
  JSON.stringify({
    faces: index.size,
    dim: DIM,
    defaultEf,
    vectors: options.vectors,
    bodyBytes: body.length,
    cpuMsPerRequest: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, round(v)])),
    searchPersonsCpuMsAtEf: Object.fromEntries(Object.entries(searchAtEf).map(([k, v]) => [k, round(v)])),
    targetRps: TARGET_RPS,
    cpuMsPerSecondAtTarget: Math.round(needed),
    coresNeeded: round(needed / 1000, 2),
    decisions: { probes: probes.length, strangers: probes.filter((p) => p.stranger).length, byEf: agreement },
  }),
);
