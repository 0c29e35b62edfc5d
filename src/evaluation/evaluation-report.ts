import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EngineOptions } from '../engine/engine-types.js';
import { FACE_MODEL } from '../engine/face-model.js';
import type { EvaluationResult } from './evaluation-runner.js';
import type { OpenSetResult } from './open-set-runner.js';
import { rocSvg } from './roc-plot.js';

export const EVALUATION_JSON = 'evaluation.json';
export const ROC_SVG = 'roc.svg';

/** The headline figures of a verification run. */
export function verificationSummary(v: EvaluationResult['verification']) {
  return {
    accuracy: v.accuracy,
    std: v.std,
    threshold: v.threshold,
    tarAtFar1e2: v.tarAtFar1e2,
    tarAtFar1e3: v.tarAtFar1e3,
    eer: v.eer,
  };
}

/** The figures of an open-set run, without the per-probe data. */
export function openSetSummary(r: OpenSetResult) {
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

/** Unreadable images count as no-face images: either way their pairs get a null score. */
export function noFaceImages(result: EvaluationResult): number {
  return result.noFaceImages.length + result.failedImages.length;
}

/** <dir>/evaluation.json (everything) and roc.svg of a verification run, and open-set.json of an open-set run. */
export async function writeEvaluationReport(
  dir: string,
  run: {
    root: string;
    pairsFile?: string;
    backend: string;
    options: EngineOptions;
    result?: EvaluationResult;
    openSet?: OpenSetResult;
  },
): Promise<void> {
  const { root, pairsFile, backend, options, result, openSet } = run;
  await mkdir(dir, { recursive: true });
  if (openSet)
    await writeFile(
      path.join(dir, 'open-set.json'),
      `${JSON.stringify({ createdAt: new Date().toISOString(), model: FACE_MODEL, backend, root, ...openSet })}\n`,
    );
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
    noFace: noFaceImages(result),
    roc,
  };
  await writeFile(path.join(dir, EVALUATION_JSON), `${JSON.stringify(report, null, 2)}\n`);
  const label = `${FACE_MODEL.id} (${backend})`;
  await writeFile(path.join(dir, ROC_SVG), rocSvg([{ label, points: roc }], { title: `LFW ROC: ${label}` }));
}
