import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadEngineConfig } from '../../config/engine-config.js';
import type { EngineOptions } from '../../engine/engine-types.js';
import { FACE_MODEL } from '../../engine/face-model.js';
import { runEvaluation, type EvaluationResult } from '../../evaluation/evaluation-runner.js';
import { parsePairsFile } from '../../evaluation/pairs-file.js';
import { rocSvg } from '../../evaluation/roc-plot.js';
import { inFlight, withEngine } from '../engine-session.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';
import { progressBar } from '../progress-bar.js';

interface EvaluateOptions {
  pairs: string;
  report?: string;
  json?: boolean;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('LFW View-2 verification benchmark: cross-validated accuracy, threshold, TAR@FAR, EER')
    .argument('<folder>', 'LFW root holding <Name>/<Name>_0001.jpg ...')
    .requiredOption('--pairs <pairs.txt>', 'LFW pairs file: header "<folds> <n>", then per fold n matched and n mismatched pairs')
    .option('--report <dir>', 'also write <dir>/evaluation.json (everything) and <dir>/roc.svg')
    .option(
      '--json',
      'print one JSON object as the last line: {verification: {accuracy, std, threshold, tarAtFar1e2, tarAtFar1e3, eer}, images, noFace, backend, secondsPerImage, model}',
    )
    .action(async (root: string, opts: EvaluateOptions, command: Command) => {
      const options = loadEngineConfig(command.optsWithGlobals());
      if (!(await stat(root).then((s) => s.isDirectory(), () => false))) throw new Error(`${root}: not a folder`);
      const text = await readFile(opts.pairs, 'utf8').catch((err: Error) => {
        throw new Error(`cannot read the pairs file: ${err.message}`);
      });
      const pairs = parsePairsFile(text);

      const { backend, result } = await withEngine(options, async (engine) => {
        const bar = progressBar('evaluate');
        const result = await runEvaluation(engine, {
          root,
          pairs,
          concurrency: inFlight(options),
          onProgress: (done, total) => bar.update(done, total),
        });
        bar.stop();
        return { backend: engine.backend, result };
      });

      // Unreadable images count as no-face images: either way their pairs get a null score.
      const noFace = result.noFaceImages.length + result.failedImages.length;
      if (opts.report) await writeReport(opts.report, { root, pairsFile: opts.pairs, backend, options, result });
      if (opts.json) {
        const { accuracy, std, threshold, tarAtFar1e2, tarAtFar1e3, eer } = result.verification;
        printJson({
          verification: { accuracy, std, threshold, tarAtFar1e2, tarAtFar1e3, eer },
          images: result.images,
          noFace,
          backend,
          secondsPerImage: result.secondsPerImage,
          model: FACE_MODEL,
        });
      } else {
        printHuman(result, backend, noFace, opts.report);
      }
      process.exitCode = EXIT.ok; // no-face and unreadable images are part of the result, not a failure
    });
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
  run: { root: string; pairsFile: string; backend: string; options: EngineOptions; result: EvaluationResult },
): Promise<void> {
  const { root, pairsFile, backend, options, result } = run;
  await mkdir(dir, { recursive: true });
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
