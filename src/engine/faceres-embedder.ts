import type * as tfjs from '@tensorflow/tfjs';
import { chipBatch } from './chip-batch.js';
import type { Embedder, FaceChips, InputChip } from './embedder.js';
import type { TfBackend } from './tf-backend.js';

/** Human's FaceRes takes 224x224 faces with more context than dlib's chip, pixel values 0..255. */
export const FACERES_CHIP: InputChip = { size: 224, padding: 0.5, fit: 'five-point', pixelRange: [0, 255] };
/** The node of FaceRes's graph that holds the 1024-D face descriptor (the others are age, gender). */
const FACERES_OUTPUT = 'global_pooling/Mean';

/** Human's FaceRes descriptor, 1024-D, as the network gives it (not normalised). */
export class FaceResEmbedder implements Embedder {
  readonly chips = [FACERES_CHIP];
  readonly embeddingSize = 1024;

  constructor(
    private readonly tf: TfBackend['tf'],
    private readonly model: tfjs.GraphModel,
  ) {}

  async embed(faces: readonly FaceChips[]): Promise<Float32Array[]> {
    if (faces.length === 0) return [];
    const batch = chipBatch(
      this.tf,
      faces.map((face) => face[0]),
      FACERES_CHIP,
    );
    try {
      const output = this.model.execute(batch, FACERES_OUTPUT) as tfjs.Tensor2D;
      const values = (await output.data()) as Float32Array;
      output.dispose();
      const dim = values.length / faces.length;
      if (dim !== this.embeddingSize) throw new Error(`FaceRes: ${dim}-D output, expected ${this.embeddingSize}`);
      return faces.map((_, i) => values.slice(i * dim, (i + 1) * dim));
    } finally {
      batch.dispose();
    }
  }
}
