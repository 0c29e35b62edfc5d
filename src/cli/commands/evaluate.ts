import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadEngineConfig } from '../../config/engine-config.js';
import type { EngineOptions } from '../../engine/engine-types.js';
import { FACE_MODEL } from '../../engine/face-model.js';
import { runEvaluation, type EvaluationResult } from '../../evaluation/evaluation-runner.js';
import { runOpenSetEvaluation, type OpenSetResult } from '../../evaluation/open-set-runner.js';
import { parsePairsFile } from '../../evaluation/pairs-file.js';
import { rocSvg } from '../../evaluation/roc-plot.js';
import { inFlight, withEngine } from '../engine-session.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';
import { progressBar } from '../progress-bar.js';

interface EvaluateOptions {
  pairs?: string;
  openSet?: boolean;
  report?: string;
  json?: boolean;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('LFW benchmarks: View-2 verification (--pairs) and open-set identification (--open-set)')
    .argument('<folder>', 'LFW root holding <Name>/<Name>_0001.jpg ...')
    .option('--pairs <pairs.txt>', 'LFW pairs file: header "<folds> <n>", then per fold n matched and n mismatched pairs')
    .option(
      '--open-set',
      'open-set 1:N: half of the identities with 2+ images enrolled from their first image, probed with their others and every image of the other half; rank-1, FNIR at FPIR 1% and 0.3%',
    )
    .option('--report <dir>', 'also write <dir>/evaluation.json (everything) and <dir>/roc.svg')
    .option(
      '--json',
      'print one JSON object as the last line: {verification: {accuracy, std, threshold, tarAtFar1e2, tarAtFar1e3, eer}, images, noFace, backend, secondsPerImage, model, openSet}',
    )
    .action(async (root: string, opts: EvaluateOptions, command: Command) => {
      const options = loadEngineConfig(command.optsWithGlobals());
      if (opts.pairs === undefined && !opts.openSet) command.error('error: give --pairs <pairs.txt>, --open-set, or both');
      if (!(await stat(root).then((s) => s.isDirectory(), () => false))) throw new Error(`${root}: not a folder`);
      const pairsFile = opts.pairs;
      const pairs =
        pairsFile === undefined
          ? undefined
          : parsePairsFile(
              await readFile(pairsFile, 'utf8').catch((err: Error) => {
                throw new Error(`cannot read the pairs file: ${err.message}`);
              }),
            );

      const { backend, result, openSet } = await withEngine(options, async (engine) => {
        let result: EvaluationResult | undefined;
        let openSet: OpenSetResult | undefined;
        if (pairs !== undefined) {
          const bar = progressBar('evaluate');
          result = await runEvaluation(engine, { root, pairs, concurrency: inFlight(options), onProgress: (done, total) => bar.update(done, total) });
          bar.stop();
        }
        if (opts.openSet) {
          const bar = progressBar('open-set');
          openSet = await runOpenSetEvaluation(engine, { root, concurrency: inFlight(options), rule: FACE_MODEL.identification, onProgress: (done, total) => bar.update(done, total) });
          bar.stop();
        }
        return { backend: engine.backend, result, openSet };
      });

      if (opts.report) await writeReport(opts.report, { root, pairsFile, backend, options, result, openSet });
      // Unreadable images count as no-face images: either way their pairs get a null score.
      const noFace = result ? result.noFaceImages.length + result.failedImages.length : undefined;
      if (opts.json) {
        const v = result?.verification;
        printJson({
          verification: v ? { accuracy: v.accuracy, std: v.std, threshold: v.threshold, tarAtFar1e2: v.tarAtFar1e2, tarAtFar1e3: v.tarAtFar1e3, eer: v.eer } : undefined,
          images: result?.images,
          noFace,
          backend,
          secondsPerImage: result?.secondsPerImage,
          model: FACE_MODEL,
          openSet: openSet ? openSetSummary(openSet) : undefined,
        });
      } else {
        if (result) printHuman(result, backend, noFace ?? 0, opts.report);
        if (openSet) printOpenSet(openSet);
      }
      process.exitCode = EXIT.ok; // no-face and unreadable images are part of the result, not a failure
    });
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
