import path from 'node:path';
import type { IdentificationRule } from '../identification/identification-rule.js';
import { ADAPTER_FORMAT, adapterId, type AdapterMetadata } from '../training/embedding-adapter.js';
import { readModelFiles } from '../training/model-files.js';
import { FACE_MODEL } from './face-model.js';

/**
 * What computes the embeddings a deployment stores and compares: the engine's model, optionally
 * followed by a trained adapter. Its `id` names the gallery, the index and the change log, so
 * embeddings of different models or adapters never meet in one index.
 */
export interface EmbeddingModel {
  /** FACE_MODEL.id, or `<FACE_MODEL.id>+adapter-<hash>` with an adapter. */
  id: string;
  detector: string;
  embedder: string;
  embeddingSize: number;
  /** 1:1 verification threshold (Euclidean distance). */
  threshold: number;
  /** The 1:N decision rule. */
  identification: IdentificationRule;
  adapter?: { id: string; dir: string };
}

export const BASE_MODEL: EmbeddingModel = {
  id: FACE_MODEL.id,
  detector: FACE_MODEL.detector,
  embedder: FACE_MODEL.embedder,
  embeddingSize: FACE_MODEL.embeddingSize,
  threshold: FACE_MODEL.threshold,
  identification: FACE_MODEL.identification,
};

/**
 * The embedding model of a deployment: the engine's own, or with `adapterDir` the adapter saved
 * there by `facepipe train triplet` (read without tfjs, so producers and the index service can
 * know the model without loading one). Throws naming the folder when it is not an adapter of
 * this engine's embeddings.
 */
export async function resolveEmbeddingModel(adapterDir?: string): Promise<EmbeddingModel> {
  if (adapterDir === undefined) return BASE_MODEL;
  const dir = path.resolve(adapterDir);
  const { metadata, sha256 } = await readModelFiles(dir);
  const meta = metadata.facepipe as AdapterMetadata | undefined;
  if (meta?.format !== ADAPTER_FORMAT) throw new Error(`adapter ${dir}: not a facepipe adapter (model.json has no ${ADAPTER_FORMAT} metadata)`);
  if (meta.baseModel !== FACE_MODEL.id || meta.inputSize !== FACE_MODEL.embeddingSize) {
    throw new Error(`adapter ${dir}: trained on ${meta.inputSize}-D embeddings of ${meta.baseModel ?? 'an unknown model'}, this engine computes ${FACE_MODEL.embeddingSize}-D ${FACE_MODEL.id}`);
  }
  const threshold = meta.verificationThreshold;
  if (typeof threshold !== 'number' || !(threshold > 0)) {
    throw new Error(`adapter ${dir}: no verificationThreshold in its metadata (train it with --held-out > 0, which calibrates one)`);
  }
  const id = adapterId(sha256);
  return {
    id: `${FACE_MODEL.id}+${id}`,
    detector: FACE_MODEL.detector,
    embedder: `${FACE_MODEL.embedder}; then the triplet-loss adapter ${id} (${meta.outputSize}-D, L2-normalised)`,
    embeddingSize: meta.outputSize,
    threshold,
    identification: {
      // Calibrated by `train triplet` on its held-out people (FPIR 1%); without enough of them a
      // first-order guess: the 1:N score is a distance, so it keeps its ratio to the 1:1 threshold.
      threshold: meta.identificationThreshold ?? (FACE_MODEL.identification.threshold * threshold) / FACE_MODEL.threshold,
      marginWeight: FACE_MODEL.identification.marginWeight,
    },
    adapter: { id, dir },
  };
}
