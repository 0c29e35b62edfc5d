/** One LFW pair: two image paths relative to the LFW root, and whether they show the same person. */
export interface Pair {
  a: string;
  b: string;
  same: boolean;
}

/** A parsed pairs file: `folds[f]` lists fold f's matched pairs, then its mismatched pairs. */
export interface PairsFile {
  folds: Pair[][];
}

/**
 * A pair as the evaluation sees it: the engine's dissimilarity (lower = more likely the same
 * person), or null when either image had no face. A null is never skipped: it is a failed pair.
 */
export interface ScoredPair {
  score: number | null;
  same: boolean;
}

/**
 * One operating point: accept iff score <= threshold. FAR = accepted impostor pairs / impostor
 * pairs, TAR = accepted genuine pairs / genuine pairs; pairs with a null score are never accepted.
 */
export interface RocPoint {
  far: number;
  tar: number;
  threshold: number;
}

export interface RocCurve {
  label: string;
  points: RocPoint[];
}

export interface CrossValidation {
  /** Mean of the fold accuracies. */
  accuracy: number;
  /** Sample standard deviation (n - 1) of the fold accuracies. */
  std: number;
  /** std / sqrt(folds): the "±" LFW result tables usually quote. */
  standardError: number;
  /** thresholds[k]: chosen on every fold but k, then used to score fold k. */
  thresholds: number[];
  foldAccuracies: number[];
  /** Best threshold on all pairs together: the one to ship as the default. */
  threshold: number;
}
