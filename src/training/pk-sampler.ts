import type { Rng } from './rng.js';

export interface PKOptions {
  /** People per batch. */
  p: number;
  /** Images per person per batch (fewer for a person who has fewer). */
  k: number;
}

/**
 * Batches of P people x K images (FaceNet's "around 40 faces per identity per mini-batch", Hermans'
 * P x K): every batch gives each anchor positives and negatives to mine. People with a single
 * image cannot be anchors and are left out.
 */
export class PKSampler {
  /** Item indices per eligible person (2+ items), in first-seen order. */
  readonly people: number[][];

  constructor(
    labels: readonly string[],
    readonly options: PKOptions,
  ) {
    if (!Number.isInteger(options.p) || options.p < 2)
      throw new RangeError(`P must be an integer >= 2, got ${options.p}`);
    if (!Number.isInteger(options.k) || options.k < 2)
      throw new RangeError(`K must be an integer >= 2, got ${options.k}`);
    const byLabel = new Map<string, number[]>();
    labels.forEach((label, i) => {
      const list = byLabel.get(label) ?? [];
      list.push(i);
      byLabel.set(label, list);
    });
    this.people = [...byLabel.values()].filter((items) => items.length >= 2);
    if (this.people.length < 2)
      throw new RangeError(`need at least 2 people with 2+ images, got ${this.people.length}`);
  }

  /** Batches in one epoch: every eligible person appears in one batch, leftovers short of P are dropped. */
  get batchesPerEpoch(): number {
    return Math.max(1, Math.floor(this.people.length / this.options.p));
  }

  /** One epoch's batches of item indices, grouped person by person. */
  epoch(rng: Rng): number[][] {
    const { p, k } = this.options;
    const order = rng.shuffle(this.people.map((_, i) => i));
    const batches: number[][] = [];
    for (let b = 0; b < this.batchesPerEpoch; b++) {
      const chosen = order.slice(b * p, (b + 1) * p);
      batches.push(chosen.flatMap((person) => rng.sample(this.people[person], k)));
    }
    return batches;
  }
}
