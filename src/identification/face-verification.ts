import type { ImageAnalysis } from '../engine/engine-types.js';
import { faceDistance } from '../engine/face-distance.js';
import { errorJson } from '../errors/error-json.js';
import { FaceError, type FaceErrorJson } from '../errors/face-error.js';

/** One face of image 1 against one face of image 2. */
export interface FacePair {
  face1: number;
  face2: number;
  distance: number;
  /** P(same person) from a pair classifier, when one decides. */
  probability?: number;
}

/** A trained pair classifier, as the decision needs it. */
export interface PairVerifier {
  probability(a: ArrayLike<number>, b: ArrayLike<number>): number;
}

export interface FaceVerification {
  /** Every face pair, most alike first. */
  pairs: FacePair[];
  /** The deciding pair's distance and P(same); null when there is no pair. */
  distance: number | null;
  probability: number | null;
  same: boolean | null;
}

/**
 * 1:1 verification of two images: every face of image 1 against every face of image 2, most alike
 * first (by P(same) with a verifier, else by distance), and the first pair decides: same person
 * when P(same) >= 0.5, or else when its distance is at most the threshold.
 */
export function verifyFaces(
  faces1: readonly { embedding: Float32Array }[],
  faces2: readonly { embedding: Float32Array }[],
  options: { threshold: number; verifier?: PairVerifier },
): FaceVerification {
  const { threshold, verifier } = options;
  const pairs: FacePair[] = faces1.flatMap((f1, i) =>
    faces2.map((f2, j) => ({
      face1: i,
      face2: j,
      distance: faceDistance(f1.embedding, f2.embedding),
      ...(verifier ? { probability: verifier.probability(f1.embedding, f2.embedding) } : {}),
    })),
  );
  pairs.sort((p, q) => (verifier ? q.probability! - p.probability! : p.distance - q.distance));
  const distance = pairs[0]?.distance ?? null;
  const probability = pairs[0]?.probability ?? null;
  const same = distance === null ? null : verifier ? probability! >= 0.5 : distance <= threshold;
  return { pairs, distance, probability, same };
}

/** A failed or faceless image, image 1 first; NO_FACE is an error here since there is nothing to compare. */
export function verificationError(
  settled: PromiseSettledResult<ImageAnalysis>[],
  paths: string[],
): FaceErrorJson | null {
  for (const [i, s] of settled.entries()) {
    if (s.status === 'rejected') return errorJson(s.reason);
    if (s.value.faces.length === 0) return new FaceError('NO_FACE', `${paths[i]}: no face found`).toJSON();
  }
  return null;
}
