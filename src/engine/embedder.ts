import type { ChipSpec } from './face-alignment.js';
import type { StageTimer } from './stage-timer.js';

export interface EmbedderOptions {
  /** Also embed the mirrored faces and average (flip test-time augmentation). */
  flipTta: boolean;
}

/**
 * A chip an embedder takes: its size and alignment template (ChipSpec), and the pixel range its
 * network expects. Chips always travel as 8-bit RGB (size x size x 3, 0..255); the embedder maps
 * them to `pixelRange` (chipBatch() does it) when it builds its input.
 */
export interface InputChip extends ChipSpec {
  pixelRange: readonly [min: number, max: number];
}

/**
 * The aligned chips of one face, one per InputChip of the embedder, in its order. Opaque to the
 * engine: it aligns them in a worker, batches them and hands them back to the embedder.
 */
export type FaceChips = Uint8Array[];

/** Computes face embeddings from aligned chips. Runs inside the engine's worker threads. */
export interface Embedder {
  /** The chips it takes of each face, in the order FaceChips holds them. */
  readonly chips: readonly InputChip[];
  readonly embeddingSize: number;
  /**
   * One embedding per face, in order: a batch is one forward pass, whoever its faces came from.
   * `timer`, when given, collects the time of its parts (stage-timings.ts).
   */
  embed(batch: readonly FaceChips[], timer?: StageTimer): Promise<Float32Array[]>;
}
