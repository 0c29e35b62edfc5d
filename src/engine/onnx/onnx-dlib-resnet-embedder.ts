import type * as ort from 'onnxruntime-node';
import { meanOfViews, RESNET_CHIP, RESNET_INNER_CHIP } from '../dlib-resnet-embedder.js';
import type { Embedder, EmbedderOptions, FaceChips } from '../embedder.js';
import { chipInput } from './chip-input.js';
import {
  buildDlibResnetGraph,
  DLIB_RESNET_INPUT,
  DLIB_RESNET_OUTPUT,
  dlibResnetKey,
  readDlibResnetWeights,
} from './dlib-resnet-graph.js';
import { cachedOnnxModel } from './onnx-model-cache.js';
import { createOnnxSession, runOnnx } from './onnx-session.js';
import type { OnnxModelOptions } from './onnx-types.js';

/**
 * dlib's ResNet (dlib's float32 weights) on onnxruntime: the same embeddings as DlibResnetEmbedder
 * (two alignments per face averaged, with flip TTA their mirrors), from a graph built from dlib's
 * file on first use.
 */
export class OnnxDlibResnetEmbedder implements Embedder {
  readonly chips = [RESNET_CHIP, RESNET_INNER_CHIP];
  readonly embeddingSize = 128;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly options: EmbedderOptions,
  ) {}

  /** Builds the graph into `model.cacheDir` unless it is there, and opens a session on it. */
  static async load(
    files: { dlibFile: string; faceApiModelDir: string },
    options: EmbedderOptions,
    model: OnnxModelOptions,
  ): Promise<OnnxDlibResnetEmbedder> {
    const key = await dlibResnetKey(files.dlibFile, files.faceApiModelDir);
    const file = await cachedOnnxModel(model.cacheDir, 'dlib-resnet', key, async () =>
      buildDlibResnetGraph(await readDlibResnetWeights(files.dlibFile, files.faceApiModelDir)),
    );
    return new OnnxDlibResnetEmbedder(await createOnnxSession(file, model), options);
  }

  /** One forward pass over every view of every face; a face's embedding is the mean of its views'. */
  async embed(faces: readonly FaceChips[]): Promise<Float32Array[]> {
    if (faces.length === 0) return [];
    return meanOfViews(await this.forward(faces.flat()), faces.length, this.chips.length, this.embeddingSize);
  }

  /** Embeddings of 150x150 chips; with flip TTA each row is the mean of the chip and its mirror. */
  private async forward(chips: Uint8Array[]): Promise<Float32Array[]> {
    const { size } = RESNET_CHIP;
    const flip = this.options.flipTta;
    const count = chips.length * (flip ? 2 : 1);
    const values = await runOnnx(
      this.session,
      { name: DLIB_RESNET_INPUT, data: chipInput(chips, RESNET_CHIP, flip), dims: [count, size, size, 3] },
      DLIB_RESNET_OUTPUT,
    );
    const dim = values.length / count;
    if (dim !== this.embeddingSize) throw new Error(`dlib ResNet: ${dim}-D output, expected ${this.embeddingSize}`);
    const row = (i: number) => values.subarray(i * dim, (i + 1) * dim);
    return chips.map((_, i) => {
      const embedding = row(i).slice();
      if (flip) {
        const mirrored = row(i + chips.length);
        for (let k = 0; k < dim; k++) embedding[k] = (embedding[k] + mirrored[k]) / 2;
      }
      return embedding;
    });
  }
}
