import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadEngineConfig } from '../../config/engine-config.js';
import type { EngineOptions } from '../../engine/engine-types.js';
import { FACE_MODEL } from '../../engine/face-model.js';
import { BASE_MODEL, resolveEmbeddingModel, type EmbeddingModel } from '../../engine/embedding-model.js';
import { selectBackend } from '../../engine/tf-backend.js';
import { adaptedAnalyzer, memoizedAnalyzer } from '../../evaluation/analyzers.js';
import { runEvaluation, type Analyzer, type EvaluationResult } from '../../evaluation/evaluation-runner.js';
import { runOpenSetEvaluation, type OpenSetResult } from '../../evaluation/open-set-runner.js';
import { parsePairsFile } from '../../evaluation/pairs-file.js';
import { rocSvg } from '../../evaluation/roc-plot.js';
import type { PairsFile } from '../../evaluation/types.js';
import type { IdentificationRule } from '../../identification/identification-rule.js';
import { EmbeddingAdapter } from '../../training/embedding-adapter.js';
import { readTrainedPeople } from '../../training/held-out.js';
import { PairClassifier } from '../../training/pair-classifier.js';
import { inFlight, withEngine } from '../engine-session.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';
import { progressBar } from '../progress-bar.js';

interface EvaluateOptions {
  pairs?: string;
  openSet?: boolean;
  verifier?: string;
  report?: string;
  json?: boolean;
}

/** One way of comparing faces, evaluated on the same images: the plain embedder, the adapter, the pair classifier. */
interface Variant {
  name: 'plain' | 'adapter' | 'verifier';
  id: string;
  analyzer: Analyzer;
  score?: (a: Float32Array, b: Float32Array) => number;
  /** The 1:N rule (open-set), for the distance-based variants. */
  rule?: IdentificationRule;
}

interface VariantResult {
  name: Variant['name'];
  id: string;
  result?: EvaluationResult;
  openSet?: OpenSetResult;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('LFW benchmarks: View-2 verification (--pairs) and open-set identification (--open-set); with --adapter / --verifier, compared with the plain embedder on the people they never saw')
    .argument('<folder>', 'LFW root holding <Name>/<Name>_0001.jpg ...')
    .option('--pairs <pairs.txt>', 'LFW pairs file: header "<folds> <n>", then per fold n matched and n mismatched pairs')
    .option(
      '--open-set',
      'open-set 1:N: half of the identities with 2+ images enrolled from their first image, probed with their others and every image of the other half; rank-1, FNIR at FPIR 1% and 0.3%',
    )
    .option('--verifier <dir>', 'also decide verification with this pair classifier (facepipe train pair-classifier): 1 - P(same) as the score')
    .option('--report <dir>', 'also write <dir>/evaluation.json (everything) and <dir>/roc.svg')
    .option(
      '--json',
      'print one JSON object as the last line: {verification: {accuracy, std, threshold, tarAtFar1e2, tarAtFar1e3, eer}, images, noFace, backend, secondsPerImage, model, openSet, variants}',
    )
    .action(async (root: string, opts: EvaluateOptions, command: Command) => {
      const options = loadEngineConfig(command.optsWithGlobals());
      if (opts.pairs === undefined && !opts.openSet) command.error('error: give --pairs <pairs.txt>, --open-set, or both');
      if (!(await stat(root).then((s) => s.isDirectory(), () => false))) throw new Error(`${root}: not a folder`);
      const pairsFile = opts.pairs;
      const allPairs =
        pairsFile === undefined
          ? undefined
          : parsePairsFile(
              await readFile(pairsFile, 'utf8').catch((err: Error) => {
                throw new Error(`cannot read the pairs file: ${err.message}`);
              }),
            );

      // The engine runs without the adapter: the adapter is applied here, so that the plain and the
      // adapted embeddings of each image come from one detection and one forward pass.
      const { adapter: adapterDir, ...baseOptions } = options;
      const learnt = await loadLearnt(options, adapterDir, opts.verifier);
      const pairs = allPairs && learnt ? unseenPairs(allPairs, learnt.seen) : allPairs;
      if (pairs && pairs.folds.length === 0) throw new Error(`${pairsFile}: every pair names a person the adapter or verifier was trained on`);

      const { backend, runs } = await withEngine(baseOptions, async (engine) => {
        const images = memoizedAnalyzer(engine);
        const variants: Variant[] = [{ name: 'plain', id: BASE_MODEL.id, analyzer: images, rule: BASE_MODEL.identification }];
        let adapted: Analyzer | undefined;
        if (learnt?.adapter) {
          const { adapter, model } = learnt.adapter;
          // Memoised too: pairs, open-set and a verifier on adapted vectors share each image's adaptation.
          adapted = memoizedAnalyzer(adaptedAnalyzer(images, (v) => adapter.adapt(v)));
          variants.push({ name: 'adapter', id: model.id, analyzer: adapted, rule: model.identification });
        }
        if (learnt?.verifier) {
          const { verifier, onAdapted } = learnt.verifier;
          const analyzer = onAdapted && adapted ? adapted : images;
          variants.push({ name: 'verifier', id: verifier.metadata.id ?? 'verifier', analyzer, score: (a, b) => 1 - verifier.probability(a, b) });
        }
        const runs: VariantResult[] = [];
        for (const variant of variants) {
          const run: VariantResult = { name: variant.name, id: variant.id };
          if (pairs !== undefined) {
            const bar = progressBar(variants.length > 1 ? `evaluate (${variant.name})` : 'evaluate');
            run.result = await runEvaluation(variant.analyzer, { root, pairs, score: variant.score, concurrency: inFlight(options), onProgress: (done, total) => bar.update(done, total) });
            bar.stop();
          }
          if (opts.openSet && variant.rule) {
            const bar = progressBar(variants.length > 1 ? `open-set (${variant.name})` : 'open-set');
            run.openSet = await runOpenSetEvaluation(variant.analyzer, {
              root,
              concurrency: inFlight(options),
              rule: variant.rule,
              people: learnt ? (person) => !learnt.seen.has(person) : undefined,
              onProgress: (done, total) => bar.update(done, total),
            });
            bar.stop();
          }
          runs.push(run);
        }
        return { backend: engine.backend, runs };
      });
      learnt?.dispose();

      const { result, openSet } = runs[0];
      if (opts.report) await writeReport(opts.report, { root, pairsFile, backend, options, result, openSet });
      // Unreadable images count as no-face images: either way their pairs get a null score.
      const noFace = result ? result.noFaceImages.length + result.failedImages.length : undefined;
      const unseen = learnt ? { people: 'only people the adapter/verifier never saw', pairs: pairs?.folds.flat().length, folds: pairs?.folds.length } : undefined;
      if (opts.json) {
        const v = result?.verification;
        printJson({
          verification: v ? verificationSummary(v) : undefined,
          images: result?.images,
          noFace,
          backend,
          secondsPerImage: result?.secondsPerImage,
          model: FACE_MODEL,
          openSet: openSet ? openSetSummary(openSet) : undefined,
          ...(learnt
            ? {
                unseen,
                variants: runs.map((r) => ({
                  name: r.name,
                  id: r.id,
                  verification: r.result ? verificationSummary(r.result.verification) : undefined,
                  openSet: r.openSet ? openSetSummary(r.openSet) : undefined,
                })),
              }
            : {}),
        });
      } else {
        if (unseen) printLine(`restricted to people never seen in training: ${unseen.pairs ?? 0} pairs in ${unseen.folds ?? 0} fold(s)${opts.openSet ? ', open-set over the unseen identities' : ''}`);
        for (const run of runs) {
          if (runs.length > 1) printLine(`--- ${run.name}: ${run.id}`);
          if (run.result) printHuman(run.result, backend, run.result.noFaceImages.length + run.result.failedImages.length, run === runs[0] ? opts.report : undefined);
          if (run.openSet) printOpenSet(run.openSet);
        }
      }
      process.exitCode = EXIT.ok; // no-face and unreadable images are part of the result, not a failure
    });
}

function verificationSummary(v: EvaluationResult['verification']) {
  return { accuracy: v.accuracy, std: v.std, threshold: v.threshold, tarAtFar1e2: v.tarAtFar1e2, tarAtFar1e3: v.tarAtFar1e3, eer: v.eer };
}

/** The pairs whose two people are both outside `seen`, in their folds; folds left empty are dropped. */
function unseenPairs(file: PairsFile, seen: ReadonlySet<string>): PairsFile {
  const person = (key: string) => key.split('/')[0];
  const folds = file.folds.map((fold) => fold.filter((p) => !seen.has(person(p.a)) && !seen.has(person(p.b)))).filter((fold) => fold.length > 0);
  return { ...file, folds };
}

/** The trained adapter and pair classifier to compare, tfjs on this thread, and the people they saw. */
async function loadLearnt(options: EngineOptions, adapterDir: string | undefined, verifierDir: string | undefined) {
  if (adapterDir === undefined && verifierDir === undefined) return undefined;
  const { tf } = await selectBackend(options.backend);
  const seen = new Set<string>();
  let adapter: { adapter: EmbeddingAdapter; model: EmbeddingModel } | undefined;
  if (adapterDir !== undefined) {
    const model = await resolveEmbeddingModel(adapterDir);
    adapter = { adapter: await EmbeddingAdapter.load(tf, adapterDir), model };
    for (const p of await readTrainedPeople(adapterDir)) seen.add(p);
  }
  let verifier: { verifier: PairClassifier; onAdapted: boolean } | undefined;
  if (verifierDir !== undefined) {
    const classifier = await PairClassifier.load(tf, verifierDir);
    const on = classifier.metadata.baseModel;
    if (on !== BASE_MODEL.id && on !== adapter?.model.id) {
      classifier.dispose();
      throw new Error(`${verifierDir}: a pair classifier of ${on ?? 'unknown'} embeddings; this run has ${BASE_MODEL.id}${adapter ? ` and ${adapter.model.id}` : ''}`);
    }
    verifier = { verifier: classifier, onAdapted: on !== BASE_MODEL.id };
    for (const p of await readTrainedPeople(verifierDir)) seen.add(p);
  }
  return {
    adapter,
    verifier,
    seen,
    dispose() {
      adapter?.adapter.dispose();
      verifier?.verifier.dispose();
    },
  };
}

/** The figures of an open-set run, without the per-probe data. */
function openSetSummary(r: OpenSetResult) {
  const figures = (m: OpenSetResult['rule']) => ({
    rank1: m.rank1,
    fnirAtFpir1e2: m.operatingPoints[0].fnir,
    thresholdAtFpir1e2: m.operatingPoints[0].threshold,
    fnirAtFpir3e3: m.operatingPoints[1].fnir,
    thresholdAtFpir3e3: m.operatingPoints[1].threshold,
    atRule: m.atRule,
  });
  return {
    gallery: r.gallery,
    galleryNoFace: r.galleryNoFace,
    genuineProbes: r.rule.genuineProbes,
    impostorProbes: r.rule.impostorProbes,
    rule: figures(r.rule),
    plainThreshold: figures(r.plainThreshold),
    seconds: r.seconds,
  };
}

function printOpenSet(r: OpenSetResult): void {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  printLine(`LFW open-set identification: gallery ${r.gallery} persons (one photo each), ${r.rule.genuineProbes} enrolled probes, ${r.rule.impostorProbes} stranger probes`);
  for (const [label, m] of [['shipped rule', r.rule], ['plain threshold', r.plainThreshold]] as const) {
    const points = m.operatingPoints.map((p) => `FNIR ${pct(p.fnir)} at FPIR ${pct(p.fpir)} (score <= ${fixed(p.threshold)})`).join(', ');
    printLine(`${label.padEnd(16)} rank-1 ${pct(m.rank1)}; ${points}; at threshold ${fixed(m.atRule.threshold)}: TPIR ${pct(m.atRule.tpir)}, FPIR ${pct(m.atRule.fpir)}`);
  }
}

function printHuman(r: EvaluationResult, backend: string, noFace: number, report?: string): void {
  const v = r.verification;
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  printLine(`LFW verification: ${r.pairs.length} pairs in ${r.folds} fold(s), ${r.images} images (model ${FACE_MODEL.id}, backend ${backend})`);
  printLine(`accuracy      ${pct(v.accuracy)} ± ${pct(v.std)} (mean ± std over ${v.foldAccuracies.length} folds)`);
  printLine(`threshold     ${fixed(v.threshold)} (best on all pairs)`);
  printLine(`no face       ${noFace} of ${r.images} images (${pct(noFace / Math.max(1, r.images))}), ${r.failedImages.length} of them unreadable`);
  printLine(`TAR@FAR=1e-2  ${pct(v.tarAtFar1e2)}`);
  printLine(`TAR@FAR=1e-3  ${pct(v.tarAtFar1e3)}`);
  printLine(`EER           ${pct(v.eer)}`);
  printLine(`time          ${r.seconds.toFixed(1)} s, ${fixed(r.secondsPerImage)} s/image`);
  if (report) printLine(`report        ${path.join(report, 'evaluation.json')}, ${path.join(report, 'roc.svg')}`);
}

async function writeReport(
  dir: string,
  run: { root: string; pairsFile?: string; backend: string; options: EngineOptions; result?: EvaluationResult; openSet?: OpenSetResult },
): Promise<void> {
  const { root, pairsFile, backend, options, result, openSet } = run;
  await mkdir(dir, { recursive: true });
  if (openSet) await writeFile(path.join(dir, 'open-set.json'), `${JSON.stringify({ createdAt: new Date().toISOString(), model: FACE_MODEL, backend, root, ...openSet })}\n`);
  if (!result) return;
  const { roc, ...rest } = result;
  const report = {
    createdAt: new Date().toISOString(),
    model: FACE_MODEL,
    backend,
    engine: options,
    root,
    pairsFile,
    ...rest,
    noFace: result.noFaceImages.length + result.failedImages.length,
    roc,
  };
  await writeFile(path.join(dir, 'evaluation.json'), `${JSON.stringify(report, null, 2)}\n`);
  const label = `${FACE_MODEL.id} (${backend})`;
  await writeFile(path.join(dir, 'roc.svg'), rocSvg([{ label, points: roc }], { title: `LFW ROC: ${label}` }));
}
