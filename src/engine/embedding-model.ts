import path from 'node:path';
import { ADAPTER_FORMAT, adapterId, type AdapterMetadata } from './adapter-model.js';
import { FACE_MODEL_CARD } from './face-model.js';
import type { IdentificationRule, ModelCard } from './model-card.js';
import { readModelFiles } from './model-files.js';

/**
 * What computes the embeddings a deployment stores and compares, as outputs report it: a model
 * card, optionally followed by a trained adapter. Its `id` names the gallery, the index and the
 * change log, so embeddings of different models or adapters never meet in one index.
 */
export interface EmbeddingModel {
  /** The card's id, or `<card id>+adapter-<hash>` with an adapter. */
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

/** A card's embeddings, without adapter. */
export function cardModel(card: ModelCard): EmbeddingModel {
  return {
    id: card.id,
    detector: card.detector,
    embedder: card.embedder,
    embeddingSize: card.embeddingSize,
    threshold: card.threshold,
    identification: card.identification,
  };
}

/** The shipped card's embeddings. */
export const BASE_MODEL: EmbeddingModel = cardModel(FACE_MODEL_CARD);

/**
 * The embedding model of a deployment: the card's own, or with `adapterDir` followed by the
 * adapter saved there by `facepipe train triplet` (read without tfjs, so producers and the index
 * service can know the model without loading one). Throws naming the folder when it is not an
 * adapter of this card's embeddings.
 */
export async function resolveEmbeddingModel(
  adapterDir?: string,
  card: ModelCard = FACE_MODEL_CARD,
): Promise<EmbeddingModel> {
  if (adapterDir === undefined) return card === FACE_MODEL_CARD ? BASE_MODEL : cardModel(card);
  const dir = path.resolve(adapterDir);
  const { metadata, sha256 } = await readModelFiles(dir);
  const meta = metadata.facepipe as AdapterMetadata | undefined;
  if (meta?.format !== ADAPTER_FORMAT)
    throw new Error(`adapter ${dir}: not a facepipe adapter (model.json has no ${ADAPTER_FORMAT} metadata)`);
  if (meta.baseModel !== card.id || meta.inputSize !== card.embeddingSize) {
    throw new Error(
      `adapter ${dir}: trained on ${meta.inputSize}-D embeddings of ${meta.baseModel ?? 'an unknown model'}, this engine computes ${card.embeddingSize}-D ${card.id}`,
    );
  }
  const threshold = meta.verificationThreshold;
  if (typeof threshold !== 'number' || !(threshold > 0)) {
    throw new Error(
      `adapter ${dir}: no verificationThreshold in its metadata (train it with --held-out > 0, which calibrates one)`,
    );
  }
  const id = adapterId(sha256);
  return {
    id: `${card.id}+${id}`,
    detector: card.detector,
    embedder: `${card.embedder}; then the triplet-loss adapter ${id} (${meta.outputSize}-D, L2-normalised)`,
    embeddingSize: meta.outputSize,
    threshold,
    identification: {
      // Calibrated by `train triplet` on its held-out people (FPIR 1%); without enough of them a
      // first-order guess: the 1:N score is a distance, so it keeps its ratio to the 1:1 threshold.
      threshold: meta.identificationThreshold ?? (card.identification.threshold * threshold) / card.threshold,
      marginWeight: card.identification.marginWeight,
    },
    adapter: { id, dir },
  };
}
