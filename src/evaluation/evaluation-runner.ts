import path from 'node:path';
import type { ImageAnalysis } from '../engine/engine-types.js';
import { faceDistance } from '../engine/face-distance.js';
import type { FaceErrorJson } from '../errors/face-error.js';
import type { Box, ImageInput } from '../engine/types.js';
import { errorJson } from '../errors/error-json.js';
import { forEachConcurrent } from '../util/for-each-concurrent.js';
import type { CrossValidation, Pair, PairsFile, RocPoint, ScoredPair } from './types.js';
import { crossValidate, equalErrorRate, rocCurve, tarAtFar } from './verification-metrics.js';

/** The part of FaceEngine the runner needs (a stub in tests). */
export interface Analyzer {
  analyze(input: ImageInput): Promise<ImageAnalysis>;
}

export interface EvaluationOptions {
  /** The LFW root: pair paths are relative to it. */
  root: string;
  pairs: PairsFile;
  /** Images in flight at once. */
  concurrency: number;
  onProgress?: (done: number, total: number) => void;
  /** A pair's dissimilarity from the two embeddings (default: faceDistance), e.g. 1 - P(same) of a pair classifier. */
  score?: (a: Float32Array, b: Float32Array) => number;
}

export interface Verification extends CrossValidation {
  tarAtFar1e2: number;
  tarAtFar1e3: number;
  eer: number;
}

export interface EvaluationResult {
  verification: Verification;
  folds: number;
  /** Every pair with its score: null when either image gave no face. */
  pairs: (Pair & { score: number | null })[];
  roc: RocPoint[];
  /** Unique images embedded. */
  images: number;
  /** Images in which no face was found. */
  noFaceImages: string[];
  /** Images the engine refused (missing, not an image, ...): like no-face images, their pairs fail. */
  failedImages: { key: string; error: FaceErrorJson }[];
  seconds: number;
  secondsPerImage: number;
}

/**
 * The LFW View-2 protocol: embed every image the pairs name once, score each pair with the
 * engine's distance between the images' central faces, cross-validate over the file's folds.
 */
export async function runEvaluation(engine: Analyzer, options: EvaluationOptions): Promise<EvaluationResult> {
  const { root, pairs: file, concurrency, onProgress } = options;
  const keys = [...new Set(file.folds.flat().flatMap((p) => [p.a, p.b]))];
  const embeddings = new Map<string, Float32Array | null>();
  const noFaceImages: string[] = [];
  const failedImages: { key: string; error: FaceErrorJson }[] = [];

  const started = performance.now();
  onProgress?.(0, keys.length);
  await forEachConcurrent(keys, concurrency, async (key) => {
    try {
      const analysis = await engine.analyze(path.join(root, key));
      const face = centralFace(analysis);
      embeddings.set(key, face?.embedding ?? null);
      if (!face) noFaceImages.push(key);
    } catch (err) {
      embeddings.set(key, null);
      failedImages.push({ key, error: errorJson(err) });
    }
    onProgress?.(embeddings.size, keys.length);
  });
  const seconds = (performance.now() - started) / 1000;

  const score = ({ a, b }: Pair): number | null => {
    const ea = embeddings.get(a);
    const eb = embeddings.get(b);
    return ea && eb ? (options.score ?? faceDistance)(ea, eb) : null;
  };
  const folds: ScoredPair[][] = file.folds.map((fold) => fold.map((p) => ({ score: score(p), same: p.same })));
  const all = folds.flat();
  return {
    verification: {
      ...crossValidate(folds),
      tarAtFar1e2: tarAtFar(all, 1e-2),
      tarAtFar1e3: tarAtFar(all, 1e-3),
      eer: equalErrorRate(all),
    },
    folds: file.folds.length,
    pairs: file.folds.flat().map((p, i) => ({ ...p, score: all[i].score })),
    roc: rocCurve(all),
    images: keys.length,
    noFaceImages: noFaceImages.sort(),
    failedImages: failedImages.sort((x, y) => (x.key < y.key ? -1 : 1)),
    seconds,
    secondsPerImage: keys.length > 0 ? seconds / keys.length : 0,
  };
}

/** The face whose box centre is closest to the image centre: LFW photos are centred on their subject. */
export function centralFace<F extends { box: Box }>(image: {
  width: number;
  height: number;
  faces: readonly F[];
}): F | undefined {
  const off = ({ box }: F) =>
    Math.hypot(box.x + box.width / 2 - image.width / 2, box.y + box.height / 2 - image.height / 2);
  let best: F | undefined;
  for (const face of image.faces) if (!best || off(face) < off(best)) best = face;
  return best;
}
