/**
 * bench:identify — the CCTV "night" benchmark for 1:N identification.
 *
 *   npm run bench:identify                        # engine alone, then the pipeline
 *   npm run bench:identify -- --parts engine      # engine alone only
 *   npm run bench:identify -- --out reports/night --seed 1
 *   npm run bench:identify -- --parts engine --snapshots 100   # a smaller night (default 300 snapshots)
 *   npm run bench:identify -- --parts engine --profile          # and where a snapshot's time goes
 *   npm run bench:identify -- --parts engine --backends wasm,onnx # each backend on the same night
 *   npm run bench:identify -- --parts engine --backends wasm,onnx --gallery-backend onnx  # one gallery for both
 *   npm run bench:identify -- --parts engine --embeddings reports/night-embeddings.json
 *                                   # also the gallery's and every scored face's embedding, so that
 *                                   # cohort normalisation (hubs) can be recomputed offline
 *
 * Builds (or reuses) the synthetic night under reports/night (bench/night/build-night.ts: ~300
 * snapshots of 1280x720 with ~710 faces, a gallery of 1,768 persons from one photo each, ~40% of
 * the faces strangers), then in one run:
 *   a. the engine alone: enroll the gallery into an in-memory FaceIndex, then per snapshot analyze
 *      -> search -> identifyFace(FACE_MODEL.identification, capped at FACE_MODEL.threshold); only the snapshots
 *      are timed. Writes reports/night-scores.jsonl (one line per detected face with its top-5
 *      per-person matches and its truth) and prints a sweep of the margin rule.
 *   b. the pipeline, as `facepipe up` runs it: temp storage, random queue prefix, index service and
 *      enroll + identify workers in-process; runEnroll(gallery), wait for the index, then time
 *      runIdentify(night) and read the result files back.
 * Prints snapshots/s of both, the ratio pipeline / engine, detection recall, TPIR and FPIR of both,
 * and as the last line one JSON object with those figures.
 *
 * With --backends (default: the configured one, FACEPIPE_BACKEND) the parts run once per backend, one
 * after the other on the same night files. Each backend enrolls the gallery with its own engine: the
 * backends' embeddings differ slightly, and a probe must meet a gallery of its own embeddings. With
 * more than one backend the scores file gets the backend's name before its extension, and the JSON
 * line lists each backend's figures and each one's engine snapshots/s over the first's, and how many
 * faces found by both were named differently. --gallery-backend enrolls the gallery once, with that
 * backend, for all of them (the engine-alone timing never includes enrollment either way).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { loadAppConfig, type AppConfig } from '../src/config/app-config.js';
import { loadEngineConfig } from '../src/config/engine-config.js';
import { loadQualityGates } from '../src/config/identification-config.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { BACKEND_NAMES } from '../src/engine/tf-backend.js';
import { FaceIndex } from '../src/index/face-index.js';
import { identifyFace, type DecisionRule } from '../src/identification/identification-rule.js';
import type { ResultJson } from '../src/results/result-types.js';
import { startIndexService } from '../src/index/index-service-runtime.js';
import { runEnroll } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import { startWorkers } from '../src/workers/worker-process.js';
import { listAll } from '../src/storage/list-all.js';
import { openStorage } from '../src/storage/open-storage.js';
import { changeLogKey, QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { forEachConcurrent } from '../src/util/for-each-concurrent.js';
import { DEFAULT_QUEUE_WORKER_OPTIONS } from '../src/workers/queue-worker-options.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';
import { StageProfile } from './stage-profile.js';
import { buildNight, DEFAULT_NIGHT_PARAMS, LFW_DIR, NO_FACE_DIR } from './night/build-night.js';
import {
  nightMetrics,
  pairDetections,
  sweepRule,
  type DetectedSnapshot,
  type NightMetrics,
  type ScoredFace,
} from './night/night-metrics.js';

const options = optionsOrExit('bench:identify', () =>
  parseOptions(
    {
      out: { type: 'string', default: 'reports/night' },
      seed: { type: 'string', default: '1' },
      parts: { type: 'string', default: 'engine,pipeline' },
      scores: { type: 'string', default: 'reports/night-scores.jsonl' },
      snapshots: { type: 'string', default: String(DEFAULT_NIGHT_PARAMS.snapshots) },
      profile: { type: 'boolean', default: false },
      backends: { type: 'string', default: '' },
      'gallery-backend': { type: 'string', default: '' },
      embeddings: { type: 'string', default: '' },
    },
    z.object({
      out: z.string().min(1),
      seed: integer(),
      parts: z
        .string()
        .transform((s) => s.split(',').map((p) => p.trim()))
        .pipe(z.array(z.enum(['engine', 'pipeline'])).min(1)),
      scores: z.string().min(1),
      snapshots: integer(),
      profile: z.boolean(),
      backends: z
        .string()
        .transform((s) => (s.trim() === '' ? [] : s.split(',').map((b) => b.trim())))
        .pipe(z.array(z.enum(BACKEND_NAMES))),
      'gallery-backend': z.union([z.literal(''), z.enum(BACKEND_NAMES)]),
      embeddings: z.string(),
    }),
  ),
);
const parts = new Set(options.parts);
if (!existsSync(LFW_DIR) || !existsSync(NO_FACE_DIR)) {
  console.error(`skipped: ${LFW_DIR} or ${NO_FACE_DIR} is absent (this benchmark needs ../shared/datasets)`);
  process.exit(0);
}

const K = 5;
/** The rule as the service and workers apply it: the model's, capped at its 1:1 threshold. */
const RULE: DecisionRule = {
  ...FACE_MODEL.identification,
  maxDistance: FACE_MODEL.threshold,
  gates: loadQualityGates(),
};
const MARGIN_WEIGHTS = [0, 0.5, 1, 1.5, 2, 3];
const FPIR_TARGETS = [0.01, 0.003];
/** Persons named most often in false alarms: printed, and kept in the JSON line. */
const FALSE_ALARM_TOP = 10;
const out = path.resolve(options.out);
const engineOptions = loadEngineConfig();
const concurrency = 2 * engineOptions.threads;

// --- the night ----------------------------------------------------------------------------------
const night = await buildNight({
  out,
  seed: options.seed,
  threads: engineOptions.threads,
  params: { snapshots: options.snapshots },
});
const truth = night.truth;
const galleryDir = path.join(out, 'gallery');
const nightDir = path.join(out, 'night');
const snapshotKeys = truth.snapshots.map((s) => s.key);
const truthFaceCount = truth.snapshots.reduce((n, s) => n + s.faces.length, 0);
console.log(
  `night: ${truth.snapshots.length} snapshots, ${truthFaceCount} faces (${truth.snapshots.flatMap((s) => s.faces).filter((f) => !f.enrolled).length} strangers), gallery ${truth.gallery.persons} persons` +
    (night.built ? `, built in ${night.seconds.toFixed(1)} s` : ' (reused)'),
);

async function galleryFiles(): Promise<Array<{ personId: string; file: string }>> {
  const files: Array<{ personId: string; file: string }> = [];
  for (const personId of (await readdir(galleryDir)).sort()) {
    for (const file of (await readdir(path.join(galleryDir, personId))).sort())
      files.push({ personId, file: path.join(galleryDir, personId, file) });
  }
  return files;
}

const round = (v: number, digits = 4) => Number(v.toFixed(digits));
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

function printMetrics(label: string, m: NightMetrics): void {
  console.log(
    `${label}: detection recall ${pct(m.detectionRecall)} (${m.found}/${m.truthFaces}; by width ${m.recallBySize.map((b) => `${b.width}px ${pct(b.recall)}`).join(', ')}; blurred ${pct(m.recallBlurred)}, grey ${pct(m.recallGrey)})`,
  );
  console.log(
    `${label}: TPIR ${pct(m.tpir)} (${m.identified}/${m.enrolledFaces}, ${m.misidentified} named as someone else), FPIR ${pct(m.fpir)} (${m.strangersNamed}/${m.strangerFaces}), false detections ${m.falseDetections} (${m.falseDetectionsNamed} named)` +
      (m.missingSnapshots > 0 ? `, ${m.missingSnapshots} snapshots without a result` : ''),
  );
  // What an operator sees in the morning (issue 22): every name given to a face that is not that person's.
  console.log(
    `${label}: false alarms ${m.falseAlarms} = ${m.strangersNamed} strangers named + ${m.noFaceBoxesNamed} of ${m.noFaceBoxes} no-face boxes named + ${m.duplicateBoxesNamed} of ${m.duplicateBoxes} duplicate boxes named; most named in one: ${
      m.falseAlarmsByPerson
        .slice(0, FALSE_ALARM_TOP)
        .map((p) => `${p.personId} ${p.falseAlarms}`)
        .join(', ') || 'nobody'
    }`,
  );
}

interface PartResult {
  seconds: number;
  snapshotsPerSecond: number;
  metrics: NightMetrics;
  /** With --profile: the engine's stage timings of the snapshots, and the bench's search and write. */
  profile?: StageProfile;
  /** Engine alone: each snapshot's boxes and the person named for each. */
  detected?: Map<string, DetectedSnapshot>;
}

// --- a. the engine alone ------------------------------------------------------------------------
/** The gallery enrolled by `engine` into an in-memory index (one photo per person). */
async function enrollGallery(engine: FaceEngine): Promise<FaceIndex> {
  const files = await galleryFiles();
  const index = new FaceIndex({ dim: FACE_MODEL.embeddingSize, initialCapacity: files.length });
  let enrollFailed = 0;
  const started = performance.now();
  await forEachConcurrent(files, concurrency, async ({ personId, file }) => {
    try {
      const { faces } = await engine.analyze(file, { largestOnly: true });
      if (faces.length === 0) enrollFailed++;
      else index.add([{ faceId: path.relative(galleryDir, file), personId, embedding: faces[0].embedding }]);
    } catch {
      enrollFailed++;
    }
  });
  console.log(
    `engine (${engine.backend}): enrolled ${index.size} of ${files.length} gallery photos (${enrollFailed} without a face) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return index;
}

/** The night through the engine alone, searched in `gallery` (else in a gallery this engine enrolls). */
async function engineAlone(
  engine: FaceEngine,
  { scoresFile, embeddingsFile }: { scoresFile: string; embeddingsFile: string },
  gallery?: FaceIndex,
): Promise<PartResult> {
  const index = gallery ?? (await enrollGallery(engine));
  const rounded = (e: ArrayLike<number>) => Array.from(e, (v) => round(v, 5));
  const faceEmbeddings = new Map<string, number[][]>();

  // Warm-up on a few snapshots (SSD's kernels at 1280x720 compile on first use); not timed.
  await Promise.all(
    snapshotKeys.slice(0, concurrency).map((key) => engine.analyze(path.join(nightDir, key)).catch(() => undefined)),
  );

  const detected = new Map<string, DetectedSnapshot>();
  const matchesOf = new Map<string, Array<Array<{ personId: string; distance: number }>>>();
  const profile = options.profile ? new StageProfile() : undefined;
  const qualityOf = new Map<string, Array<Pick<ScoredFace, 'detectorScore' | 'quality'>>>();
  const started = performance.now();
  await forEachConcurrent(snapshotKeys, concurrency, async (key) => {
    try {
      const { faces, timings } = await engine.analyze(path.join(nightDir, key));
      profile?.add(timings);
      const searchStarted = performance.now();
      const hits =
        faces.length > 0
          ? index.search(
              faces.map((f) => f.embedding),
              K * 4,
            )
          : [];
      const decided = hits.map((h, i) => identifyFace(h, K, RULE, faces[i]));
      profile?.addStage('search', performance.now() - searchStarted);
      const perPerson = decided.map((d) => d.matches);
      detected.set(key, {
        key,
        faces: faces.map((f, i) => ({ box: f.box, personId: decided[i].personId })),
      });
      qualityOf.set(
        key,
        faces.map((f) => ({ detectorScore: round(f.score), quality: f.quality })),
      );
      if (embeddingsFile)
        faceEmbeddings.set(
          key,
          faces.map((f) => rounded(f.embedding)),
        );
      matchesOf.set(
        key,
        perPerson.map((m) => m.map(({ personId, distance }) => ({ personId, distance: round(distance, 5) }))),
      );
    } catch (err) {
      console.error(`engine: ${key}: ${(err as Error).message}`);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const metrics = nightMetrics(truth, [...detected.values()]);

  // Per detected face: truth and top-5 per-person matches, for sweeping decision rules offline.
  const scored: ScoredFace[] = [];
  const scoredEmbeddings: number[][] = [];
  for (const snapshot of truth.snapshots) {
    const got = detected.get(snapshot.key);
    if (!got) continue;
    const truthOf = pairDetections(
      snapshot.faces.map((f) => f.box),
      got.faces.map((f) => f.box),
    );
    got.faces.forEach((face, d) => {
      const t = truthOf[d] === -1 ? undefined : snapshot.faces[truthOf[d]];
      scored.push({
        key: snapshot.key,
        box: {
          x: round(face.box.x, 1),
          y: round(face.box.y, 1),
          width: round(face.box.width, 1),
          height: round(face.box.height, 1),
        },
        truthPersonId: t?.enrolled ? t.personId : null,
        enrolled: t === undefined ? null : t.enrolled,
        matches: matchesOf.get(snapshot.key)![d],
        ...qualityOf.get(snapshot.key)![d],
      });
      if (embeddingsFile) scoredEmbeddings.push(faceEmbeddings.get(snapshot.key)![d]);
    });
  }
  const writeStarted = performance.now();
  await mkdir(path.dirname(path.resolve(scoresFile)), { recursive: true });
  await writeFile(scoresFile, `${scored.map((s) => JSON.stringify(s)).join('\n')}\n`);
  profile?.addStage('write', performance.now() - writeStarted);
  console.log(`engine: wrote ${scored.length} scored faces to ${scoresFile}`);
  if (embeddingsFile) {
    // faces[i] is the embedding of the scores file's line i; the gallery is one face per person.
    const galleryEmbeddings = index
      .persons()
      .map(({ personId }) => ({ personId, embedding: rounded(index.embedding(index.personFaces(personId)[0])!) }))
      .sort((a, b) => a.personId.localeCompare(b.personId));
    await writeFile(embeddingsFile, JSON.stringify({ gallery: galleryEmbeddings, faces: scoredEmbeddings }));
    console.log(
      `engine: wrote ${galleryEmbeddings.length} gallery and ${scoredEmbeddings.length} face embeddings to ${embeddingsFile}`,
    );
  }

  const sweep = sweepRule(scored, metrics, MARGIN_WEIGHTS, FPIR_TARGETS);
  console.log(
    `sweep (score = d1 - w x (mean of the next 4 persons - d1); threshold tuned on this night itself, so optimistic):`,
  );
  console.log(
    `  w     ${FPIR_TARGETS.map((t) => `TPIR@FPIR<=${(100 * t).toFixed(1)}% (score <, FPIR)`.padEnd(36)).join('')}`,
  );
  for (const w of MARGIN_WEIGHTS) {
    const cells = FPIR_TARGETS.map((t) => {
      const p = sweep.find((s) => s.marginWeight === w && s.targetFpir === t)!;
      return `${pct(p.tpir)} (${p.scoreBelow.toFixed(4)}, ${pct(p.fpir)})`.padEnd(36);
    });
    console.log(`  ${String(w).padEnd(6)}${cells.join('')}`);
  }
  return { seconds, snapshotsPerSecond: snapshotKeys.length / seconds, metrics, profile, detected };
}

// --- b. the pipeline ----------------------------------------------------------------------------

async function pipeline(engine: FaceEngine): Promise<PartResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'facepipe-bench-identify-'));
  const base = loadAppConfig({
    storage: path.join(dir, 'data'),
    queuePrefix: `bench-${randomBytes(4).toString('hex')}`,
    indexUrl: 'http://127.0.0.1:0',
  });
  const index = await startIndexService(base, { port: 0, host: '127.0.0.1' });
  const config: AppConfig = { ...base, indexUrl: index.url };
  let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;
  try {
    workers = await startWorkers(config, engine, [QUEUE_NAMES.enroll, QUEUE_NAMES.identify], {
      ...DEFAULT_QUEUE_WORKER_OPTIONS,
      concurrency: 2,
    });
    let started = performance.now();
    const enrolled = await runEnroll(config, { source: galleryDir, wait: true });
    if (!('enrolled' in enrolled)) throw new Error('runEnroll with wait returned no summary');
    while (index.service.current.size < enrolled.enrolled) await new Promise((resolve) => setTimeout(resolve, 50));
    console.log(
      `pipeline: enrolled ${enrolled.enrolled} of ${enrolled.images} gallery photos (${enrolled.failed} failed) in ${((performance.now() - started) / 1000).toFixed(1)} s; index holds ${index.service.current.size}`,
    );

    started = performance.now();
    const summary = (await runIdentify(config, { source: nightDir, run: 'bench', wait: true })) as IdentifyRunSummary;
    const seconds = (performance.now() - started) / 1000;
    console.log(`pipeline: identify summary ${JSON.stringify(summary)}`);

    // The result files, read back as users' scripts read them.
    const storage = openStorage(config.storage);
    const prefix = summary.resultsPrefix;
    const detected: DetectedSnapshot[] = [];
    for await (const object of listAll(storage, prefix)) {
      if (!object.key.endsWith('.json')) continue;
      const result = JSON.parse(Buffer.from(await storage.get(object.key)).toString('utf8')) as ResultJson;
      const key = object.key.slice(prefix.length, -'.json'.length);
      detected.push({ key, faces: result.faces.map((f) => ({ box: f.box, personId: f.personId })) });
    }
    return { seconds, snapshotsPerSecond: snapshotKeys.length / seconds, metrics: nightMetrics(truth, detected) };
  } finally {
    await workers?.close();
    await index.close();
    for (const name of [QUEUE_NAMES.enroll, QUEUE_NAMES.identify]) {
      const queue = new Queue(name, queueConnectionOptions(config));
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    const redis = new Redis(config.redisUrl);
    await redis.del(changeLogKey(config, FACE_MODEL.id));
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

const backends = options.backends.length > 0 ? options.backends : [engineOptions.backend];
/** One file per backend when several run, so that one does not overwrite the other's. */
const perBackend = (file: string, backend: string | undefined) => {
  if (file === '' || backends.length < 2 || backend === undefined) return file;
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}-${backend}${ext}`;
};

interface BackendRun {
  /** As asked (--backends), and as the engine reports it. */
  asked: string;
  backend: string;
  engine?: PartResult;
  pipeline?: PartResult;
}

// --gallery-backend: the gallery enrolled once, by that backend, and every backend's probes searched
// in it (saves enrolling 1,768 photos per backend on a busy machine; the decisions then differ only
// through the probes' embeddings, and the comparison below counts how often they do).
let sharedGallery: FaceIndex | undefined;
if (options['gallery-backend'] !== '') {
  const engine = await FaceEngine.start({ ...engineOptions, backend: options['gallery-backend'] });
  try {
    sharedGallery = await enrollGallery(engine);
  } finally {
    await engine.close();
  }
}

const runs: BackendRun[] = [];
for (const asked of backends) {
  const engine = await FaceEngine.start({ ...engineOptions, ...(asked === undefined ? {} : { backend: asked }) });
  console.log(
    `engine: ${engine.backend}, ${engineOptions.threads} threads, ${concurrency} snapshots at once; rule ${JSON.stringify(FACE_MODEL.identification)}; gates ${JSON.stringify(RULE.gates)}`,
  );
  const run: BackendRun = { asked: asked ?? 'default', backend: engine.backend };
  runs.push(run);
  try {
    if (parts.has('engine')) {
      const a = await engineAlone(
        engine,
        { scoresFile: perBackend(options.scores, asked), embeddingsFile: perBackend(options.embeddings, asked) },
        sharedGallery,
      );
      run.engine = a;
      console.log(
        `engine alone (${engine.backend}): ${a.snapshotsPerSecond.toFixed(3)} snapshots/s (${a.seconds.toFixed(1)} s)`,
      );
      printMetrics(`engine alone (${run.asked})`, a.metrics);
      if (a.profile) console.log(a.profile.table(`engine alone (${engine.backend})`));
    }
    if (parts.has('pipeline')) {
      const b = await pipeline(engine);
      run.pipeline = b;
      console.log(
        `pipeline (${engine.backend}): ${b.snapshotsPerSecond.toFixed(3)} snapshots/s (${b.seconds.toFixed(1)} s)`,
      );
      printMetrics(`pipeline (${run.asked})`, b.metrics);
    }
  } finally {
    await engine.close();
  }
}

const figures = (r: PartResult | undefined) =>
  r === undefined
    ? null
    : {
        snapshotsPerSecond: round(r.snapshotsPerSecond),
        detectionRecall: round(r.metrics.detectionRecall),
        tpir: round(r.metrics.tpir),
        fpir: round(r.metrics.fpir),
        falseDetections: r.metrics.falseDetections,
        falseDetectionsNamed: r.metrics.falseDetectionsNamed,
        ...(r.profile ? { profileMsPerSnapshot: r.profile.toJSON() } : {}),

        falseAlarms: r.metrics.falseAlarms,
        strangersNamed: r.metrics.strangersNamed,
        noFaceBoxesNamed: r.metrics.noFaceBoxesNamed,
        duplicateBoxesNamed: r.metrics.duplicateBoxesNamed,
        falseAlarmsByPerson: r.metrics.falseAlarmsByPerson.slice(0, FALSE_ALARM_TOP),
      };
const ratioOf = (run: BackendRun) =>
  run.engine && run.pipeline ? run.pipeline.snapshotsPerSecond / run.engine.snapshotsPerSecond : null;
for (const run of runs) {
  const ratio = ratioOf(run);
  if (ratio !== null) console.log(`ratio (pipeline / engine, ${run.asked}): ${ratio.toFixed(3)}`);
}
// Each backend's rate over the first's, engine alone (the part that compares runtimes).
const first = runs[0];
const speedups =
  runs.length > 1 && first.engine
    ? runs.slice(1).map((run) => ({
        backend: run.asked,
        over: first.asked,
        engineRatio: run.engine ? round(run.engine.snapshotsPerSecond / first.engine!.snapshotsPerSecond, 3) : null,
      }))
    : [];
for (const s of speedups)
  console.log(
    `ratio (engine alone, ${s.backend} / ${s.over}): ${s.engineRatio === null ? 'n/a' : s.engineRatio.toFixed(3)}`,
  );

/** Faces both backends found (boxes paired by IoU), and how many of them each named differently. */
function agreement(a: Map<string, DetectedSnapshot>, b: Map<string, DetectedSnapshot>) {
  let paired = 0;
  let sameName = 0;
  for (const [key, first] of a) {
    const other = b.get(key);
    if (!other) continue;
    const pairOf = pairDetections(
      first.faces.map((f) => f.box),
      other.faces.map((f) => f.box),
    );
    pairOf.forEach((i, d) => {
      if (i === -1) return;
      paired++;
      if (first.faces[i].personId === other.faces[d].personId) sameName++;
    });
  }
  return { paired, sameName, differentName: paired - sameName };
}
const agreements =
  runs.length > 1 && first.engine?.detected
    ? runs
        .slice(1)
        .flatMap((run) =>
          run.engine?.detected
            ? [{ backend: run.asked, with: first.asked, ...agreement(first.engine!.detected!, run.engine.detected) }]
            : [],
        )
    : [];
for (const g of agreements)
  console.log(
    `decisions (engine alone, ${g.backend} vs ${g.with}): of ${g.paired} faces both found, ${g.sameName} named alike (the same person or nobody), ${g.differentName} differently`,
  );
// The top-level fields are the last backend's (as before --backends); `backends` has each one's.
const last = runs[runs.length - 1];
const lastRatio = ratioOf(last);
console.log(
  JSON.stringify({
    snapshots: truth.snapshots.length,
    faces: truthFaceCount,
    backend: last.backend,
    rule: FACE_MODEL.identification,
    gates: RULE.gates,
    engine: figures(last.engine),
    pipeline: figures(last.pipeline),
    ratio: lastRatio === null ? null : round(lastRatio, 3),
    ...(runs.length > 1
      ? {
          backends: runs.map((run) => ({
            asked: run.asked,
            backend: run.backend,
            engine: figures(run.engine),
            pipeline: figures(run.pipeline),
            ratio: ratioOf(run) === null ? null : round(ratioOf(run)!, 3),
          })),
          speedups,
          agreements,
          gallery:
            options['gallery-backend'] === '' ? 'each backend its own' : `enrolled by ${options['gallery-backend']}`,
        }
      : {}),
  }),
);
