import type * as ort from 'onnxruntime-node';
import type { Embedder, FaceChips } from '../embedder.js';
import { FACERES_CHIP } from '../faceres-embedder.js';
import { chipInput } from './chip-input.js';
import { buildFaceResGraph, FACERES_DESCRIPTOR, FACERES_INPUT, faceResKey, readFaceResModel } from './faceres-graph.js';
import { cachedOnnxModel } from './onnx-model-cache.js';
import { createOnnxSession, runOnnx } from './onnx-session.js';
import type { OnnxModelOptions } from './onnx-types.js';

/** Human's FaceRes descriptor (1024-D, not normalised) on onnxruntime: what FaceResEmbedder gives. */
export class OnnxFaceResEmbedder implements Embedder {
  readonly chips = [FACERES_CHIP];
  readonly embeddingSize = 1024;

  constructor(private readonly session: ort.InferenceSession) {}

  /** Converts the graph into `model.cacheDir` unless it is there, and opens a session on it. */
  static async load(files: { modelJson: string }, model: OnnxModelOptions): Promise<OnnxFaceResEmbedder> {
    const key = await faceResKey(files.modelJson);
    const file = await cachedOnnxModel(model.cacheDir, 'faceres', key, async () => {
      const { nodes, weights } = await readFaceResModel(files.modelJson);
      return buildFaceResGraph(nodes, weights);
    });
    return new OnnxFaceResEmbedder(await createOnnxSession(file, model));
  }

  async embed(faces: readonly FaceChips[]): Promise<Float32Array[]> {
    if (faces.length === 0) return [];
    const { size } = FACERES_CHIP;
    const values = await runOnnx(
      this.session,
      {
        name: FACERES_INPUT,
        data: chipInput(
          faces.map((face) => face[0]),
          FACERES_CHIP,
        ),
        dims: [faces.length, size, size, 3],
      },
      FACERES_DESCRIPTOR,
    );
    const dim = values.length / faces.length;
    if (dim !== this.embeddingSize) throw new Error(`FaceRes: ${dim}-D output, expected ${this.embeddingSize}`);
    return faces.map((_, i) => values.slice(i * dim, (i + 1) * dim));
  }
}
