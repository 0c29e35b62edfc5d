import type * as tfjs from '@tensorflow/tfjs';
import type { Embedder, EmbedderOptions, FaceChips, InputChip } from './embedder.js';
import { DLIB_CHIP } from './face-alignment.js';
import type { FaceApi } from './face-models.js';
import type { TfBackend } from './tf-backend.js';

/** dlib_face_recognition_resnet_model_v1 was trained on dlib's 150x150 chips; face-api normalises 0..255 itself. */
export const RESNET_CHIP: InputChip = { ...DLIB_CHIP, pixelRange: [0, 255] };
/** The same crop fitted on the 51 inner landmarks: averaging both views' embeddings helped on LFW. */
export const RESNET_INNER_CHIP: InputChip = { ...RESNET_CHIP, fit: 'inner' };

/**
 * dlib's ResNet-34 (face-api's recognition net, given dlib's float32 weights): 128-D, averaged over
 * two alignments of the face and, with flip TTA, their mirrors.
 */
export class DlibResnetEmbedder implements Embedder {
  readonly chips = [RESNET_CHIP, RESNET_INNER_CHIP];
  readonly embeddingSize = 128;

  constructor(
    private readonly tf: TfBackend['tf'],
    private readonly faceapi: FaceApi,
    readonly options: EmbedderOptions,
  ) {}

  /** One forward pass over every view of every face; a face's embedding is the mean of its views'. */
  async embed(faces: readonly FaceChips[]): Promise<Float32Array[]> {
    if (faces.length === 0) return [];
    return meanOfViews(await this.forward(faces.flat()), faces.length, this.chips.length, this.embeddingSize);
  }

  /** Embeddings of 150x150 chips; with flip TTA each row is the mean of the chip and its mirror. */
  private async forward(chips: Uint8Array[]): Promise<Float32Array[]> {
    const size = RESNET_CHIP.size;
    // face-api batches a list of 3-D tensors (it refuses a 4-D one with batch > 1).
    const inputs = chips.map((chip) => this.tf.tensor3d(chip, [size, size, 3], 'int32'));
    if (this.options.flipTta) inputs.push(...inputs.map((face) => this.tf.reverse(face, 1)));
    try {
      const output = (await this.faceapi.nets.faceRecognitionNet.forward(inputs as never)) as unknown as tfjs.Tensor2D;
      const values = (await output.data()) as Float32Array;
      output.dispose();
      const dim = values.length / inputs.length;
      if (dim !== this.embeddingSize) throw new Error(`dlib ResNet: ${dim}-D output, expected ${this.embeddingSize}`);
      const row = (i: number) => values.subarray(i * dim, (i + 1) * dim);
      return chips.map((_, i) => {
        const embedding = row(i).slice();
        if (this.options.flipTta) {
          const mirrored = row(i + chips.length);
          for (let k = 0; k < dim; k++) embedding[k] = (embedding[k] + mirrored[k]) / 2;
        }
        return embedding;
      });
    } finally {
      this.tf.dispose(inputs);
    }
  }
}

/** Each face's embedding: the mean of its `views` consecutive rows (one row per chip view). */
export function meanOfViews(rows: readonly Float32Array[], faces: number, views: number, size: number): Float32Array[] {
  return Array.from({ length: faces }, (_, i) => {
    const embedding = new Float32Array(size);
    for (let v = 0; v < views; v++) {
      const view = rows[i * views + v]!;
      for (let k = 0; k < size; k++) embedding[k]! += view[k]! / views;
    }
    return embedding;
  });
}
