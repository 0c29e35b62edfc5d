import type { Rng } from './rng.js';

/**
 * Online triplet mining inside one batch (FaceNet, section 3.2; Hermans et al. 2017 for batch-hard
 * and batch-all). Every miner works on the batch's pairwise distance matrix and its labels; a valid
 * triplet is (a, p, n) with a != p, label[p] = label[a] and label[n] != label[a].
 */
export const MINING_STRATEGIES = ['semi-hard', 'hard', 'batch-all', 'random'] as const;
export type MiningStrategy = (typeof MINING_STRATEGIES)[number];

/** Anchor, positive and negative: indices into the batch. */
export type Triplet = readonly [a: number, p: number, n: number];

/** A square distance matrix: rows of numbers, or n * n values row-major. */
export type Distances = readonly (readonly number[])[] | ArrayLike<number>;

function reader(distances: Distances, n: number): (i: number, j: number) => number {
  if (distances.length === n && n > 0 && typeof (distances as ArrayLike<unknown>)[0] === 'object') {
    const rows = distances as readonly (readonly number[])[];
    rows.forEach((row, i) => {
      if (row.length !== n) throw new RangeError(`distance row ${i} has ${row.length} values, expected ${n}`);
    });
    return (i, j) => rows[i][j];
  }
  const flat = distances as ArrayLike<number>;
  if (flat.length !== n * n) throw new RangeError(`distance matrix has ${flat.length} values, expected ${n} x ${n}`);
  return (i, j) => flat[i * n + j];
}

export interface MiningOptions {
  strategy: MiningStrategy;
  /** alpha: the margin of the loss; semi-hard negatives lie within it. */
  margin: number;
  /** Only for 'random'. */
  rng?: Rng;
}

/**
 * The triplets the strategy picks, in (a, p, n) order:
 * - semi-hard: every valid triplet with d(a,p) < d(a,n) < d(a,p) + margin (negatives farther than
 *   the positive but still inside the margin: they have a non-zero loss without being the hardest,
 *   which makes training collapse early on);
 * - hard: per anchor one triplet, its farthest positive and its nearest negative (ties: lowest index);
 * - batch-all: every valid triplet;
 * - random: per anchor-positive pair one negative drawn uniformly.
 */
export function mineTriplets(
  distances: Distances,
  labels: readonly (string | number)[],
  options: MiningOptions,
): Triplet[] {
  const n = labels.length;
  const d = reader(distances, n);
  const { strategy, margin } = options;
  const out: Triplet[] = [];
  const negativesOf = (a: number) => labels.flatMap((l, i) => (l !== labels[a] ? [i] : []));
  const positivesOf = (a: number) => labels.flatMap((l, i) => (i !== a && l === labels[a] ? [i] : []));

  for (let a = 0; a < n; a++) {
    const positives = positivesOf(a);
    const negatives = negativesOf(a);
    if (positives.length === 0 || negatives.length === 0) continue;
    switch (strategy) {
      case 'hard': {
        const p = positives.reduce((best, i) => (d(a, i) > d(a, best) ? i : best));
        const m = negatives.reduce((best, i) => (d(a, i) < d(a, best) ? i : best));
        out.push([a, p, m]);
        break;
      }
      case 'random': {
        const rng = options.rng;
        if (!rng) throw new Error("mining 'random' needs an rng");
        for (const p of positives) out.push([a, p, negatives[rng.int(negatives.length)]]);
        break;
      }
      case 'semi-hard':
      case 'batch-all':
        for (const p of positives) {
          const dap = d(a, p);
          for (const m of negatives) {
            const dan = d(a, m);
            if (strategy === 'batch-all' || (dap < dan && dan < dap + margin)) out.push([a, p, m]);
          }
        }
        break;
      default:
        throw new Error(`unknown mining strategy: ${String(strategy)}`);
    }
  }
  return out;
}

/** The loss of one triplet, max(d(a,p) - d(a,n) + margin, 0). */
export function tripletLossValue(distances: Distances, n: number, [a, p, m]: Triplet, margin: number): number {
  const d = reader(distances, n);
  return Math.max(d(a, p) - d(a, m) + margin, 0);
}

/** Valid triplets in the batch, and how many of them violate the margin (non-zero loss). */
export function activeTriplets(
  distances: Distances,
  labels: readonly (string | number)[],
  margin: number,
): { valid: number; active: number } {
  const n = labels.length;
  const d = reader(distances, n);
  let valid = 0;
  let active = 0;
  for (let a = 0; a < n; a++) {
    for (let p = 0; p < n; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      for (let m = 0; m < n; m++) {
        if (labels[m] === labels[a]) continue;
        valid++;
        if (d(a, p) - d(a, m) + margin > 0) active++;
      }
    }
  }
  return { valid, active };
}
