import path from 'node:path';
import type { Command } from 'commander';
import { loadEngineConfig } from '../../config/engine-config.js';
import { FACE_MODEL } from '../../engine/face-model.js';
import {
  EVALUATION_JSON,
  noFaceImages,
  openSetSummary,
  ROC_SVG,
  verificationSummary,
  writeEvaluationReport,
} from '../../evaluation/evaluation-report.js';
import type { EvaluationResult } from '../../evaluation/evaluation-runner.js';
import { evaluateLfw, type EvaluationStep } from '../../evaluation/lfw-evaluation.js';
import type { OpenSetResult } from '../../evaluation/open-set-runner.js';
import { loadLearntModels } from '../../training/learnt-models.js';
import { inFlight, withEngine } from '../engine-session.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';
import { progressSteps } from '../progress-bar.js';

interface EvaluateOptions {
  pairs?: string;
  openSet?: boolean;
  verifier?: string;
  report?: string;
  json?: boolean;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description(
      'LFW benchmarks: View-2 verification (--pairs) and open-set identification (--open-set); with --adapter / --verifier, compared with the plain embedder on the people they never saw',
    )
    .argument('<folder>', 'LFW root holding <Name>/<Name>_0001.jpg ...')
    .option(
      '--pairs <pairs.txt>',
      'LFW pairs file: header "<folds> <n>", then per fold n matched and n mismatched pairs',
    )
    .option(
      '--open-set',
      'open-set 1:N: half of the identities with 2+ images enrolled from their first image, probed with their others and every image of the other half; rank-1, FNIR at FPIR 1% and 0.3%',
    )
    .option(
      '--verifier <dir>',
      'also decide verification with this pair classifier (facepipe train pair-classifier): 1 - P(same) as the score',
    )
    .option('--report <dir>', 'also write <dir>/evaluation.json (everything) and <dir>/roc.svg')
    .option(
      '--json',
      'print one JSON object as the last line: {verification: {accuracy, std, threshold, tarAtFar1e2, tarAtFar1e3, eer}, images, noFace, backend, secondsPerImage, model, openSet, variants}',
    )
    .action(async (root: string, opts: EvaluateOptions, command: Command) => {
      const options = loadEngineConfig(command.optsWithGlobals());
      if (opts.pairs === undefined && !opts.openSet)
        command.error('error: give --pairs <pairs.txt>, --open-set, or both');
      // The engine runs without the adapter: the evaluation applies it, so that the plain and the
      // adapted embeddings of each image come from one detection and one forward pass.
      const { adapter: adapterDir, ...baseOptions } = options;
      const bars = progressSteps();
      const { backend, runs, unseen } = await evaluateLfw({
        root,
        pairsFile: opts.pairs,
        openSet: opts.openSet ?? false,
        concurrency: inFlight(options),
        withEngine: (fn) => withEngine(baseOptions, fn),
        loadLearnt: () => loadLearntModels(options.backend, adapterDir, opts.verifier),
        onProgress: (step, done, total) => bars.update(stepLabel(step), done, total),
      });
      bars.stop();

      const { result, openSet } = runs[0];
      if (opts.report)
        await writeEvaluationReport(opts.report, { root, pairsFile: opts.pairs, backend, options, result, openSet });
      if (opts.json) {
        printJson({
          verification: result ? verificationSummary(result.verification) : undefined,
          images: result?.images,
          noFace: result ? noFaceImages(result) : undefined,
          backend,
          secondsPerImage: result?.secondsPerImage,
          model: FACE_MODEL,
          openSet: openSet ? openSetSummary(openSet) : undefined,
          ...(unseen
            ? {
                unseen: { people: 'only people the adapter/verifier never saw', ...unseen },
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
        if (unseen)
          printLine(
            `restricted to people never seen in training: ${unseen.pairs ?? 0} pairs in ${unseen.folds ?? 0} fold(s)${opts.openSet ? ', open-set over the unseen identities' : ''}`,
          );
        for (const run of runs) {
          if (runs.length > 1) printLine(`--- ${run.name}: ${run.id}`);
          if (run.result) printHuman(run.result, backend, run === runs[0] ? opts.report : undefined);
          if (run.openSet) printOpenSet(run.openSet);
        }
      }
      process.exitCode = EXIT.ok; // no-face and unreadable images are part of the result, not a failure
    });
}

function stepLabel(step: EvaluationStep): string {
  const label = step.protocol === 'pairs' ? 'evaluate' : 'open-set';
  return step.variants > 1 ? `${label} (${step.variant})` : label;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function printOpenSet(r: OpenSetResult): void {
  printLine(
    `LFW open-set identification: gallery ${r.gallery} persons (one photo each), ${r.rule.genuineProbes} enrolled probes, ${r.rule.impostorProbes} stranger probes`,
  );
  for (const [label, m] of [
    ['shipped rule', r.rule],
    ['plain threshold', r.plainThreshold],
  ] as const) {
    const points = m.operatingPoints
      .map((p) => `FNIR ${pct(p.fnir)} at FPIR ${pct(p.fpir)} (score <= ${fixed(p.threshold)})`)
      .join(', ');
    printLine(
      `${label.padEnd(16)} rank-1 ${pct(m.rank1)}; ${points}; at threshold ${fixed(m.atRule.threshold)}: TPIR ${pct(m.atRule.tpir)}, FPIR ${pct(m.atRule.fpir)}`,
    );
  }
}

function printHuman(r: EvaluationResult, backend: string, report?: string): void {
  const v = r.verification;
  const noFace = noFaceImages(r);
  printLine(
    `LFW verification: ${r.pairs.length} pairs in ${r.folds} fold(s), ${r.images} images (model ${FACE_MODEL.id}, backend ${backend})`,
  );
  printLine(`accuracy      ${pct(v.accuracy)} ± ${pct(v.std)} (mean ± std over ${v.foldAccuracies.length} folds)`);
  printLine(`threshold     ${fixed(v.threshold)} (best on all pairs)`);
  printLine(
    `no face       ${noFace} of ${r.images} images (${pct(noFace / Math.max(1, r.images))}), ${r.failedImages.length} of them unreadable`,
  );
  printLine(`TAR@FAR=1e-2  ${pct(v.tarAtFar1e2)}`);
  printLine(`TAR@FAR=1e-3  ${pct(v.tarAtFar1e3)}`);
  printLine(`EER           ${pct(v.eer)}`);
  printLine(`time          ${r.seconds.toFixed(1)} s, ${fixed(r.secondsPerImage)} s/image`);
  if (report) printLine(`report        ${path.join(report, EVALUATION_JSON)}, ${path.join(report, ROC_SVG)}`);
}
