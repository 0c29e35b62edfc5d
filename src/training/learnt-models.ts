import { BASE_MODEL, resolveEmbeddingModel, type EmbeddingModel } from '../engine/embedding-model.js';
import { selectBackend, type BackendName } from '../engine/tf-backend.js';
import type { LearntModels } from '../evaluation/lfw-evaluation.js';
import { EmbeddingAdapter } from './embedding-adapter.js';
import { readTrainedPeople } from './held-out.js';
import { PairClassifier } from './pair-classifier.js';

/**
 * The trained adapter and pair classifier an evaluation compares with the plain embedder, on tfjs
 * of this thread, and the people they saw; undefined when neither is given.
 */
export async function loadLearntModels(
  backend: BackendName | undefined,
  adapterDir: string | undefined,
  verifierDir: string | undefined,
): Promise<LearntModels | undefined> {
  if (adapterDir === undefined && verifierDir === undefined) return undefined;
  const { tf } = await selectBackend(backend);
  const seen = new Set<string>();
  let adapter: EmbeddingAdapter | undefined;
  let adapterModel: EmbeddingModel | undefined;
  if (adapterDir !== undefined) {
    adapterModel = await resolveEmbeddingModel(adapterDir);
    adapter = await EmbeddingAdapter.load(tf, adapterDir);
    for (const p of await readTrainedPeople(adapterDir)) seen.add(p);
  }
  let verifier: PairClassifier | undefined;
  if (verifierDir !== undefined) {
    const classifier = await PairClassifier.load(tf, verifierDir);
    const on = classifier.metadata.baseModel;
    if (on !== BASE_MODEL.id && on !== adapterModel?.id) {
      classifier.dispose();
      throw new Error(
        `${verifierDir}: a pair classifier of ${on ?? 'unknown'} embeddings; this run has ${BASE_MODEL.id}${adapterModel ? ` and ${adapterModel.id}` : ''}`,
      );
    }
    verifier = classifier;
    for (const p of await readTrainedPeople(verifierDir)) seen.add(p);
  }
  return {
    adapter:
      adapter && adapterModel
        ? { id: adapterModel.id, rule: adapterModel.identification, adapt: (vectors) => adapter.adapt(vectors) }
        : undefined,
    verifier: verifier
      ? {
          id: verifier.metadata.id ?? 'verifier',
          onAdapted: verifier.metadata.baseModel !== BASE_MODEL.id,
          probability: (a, b) => verifier.probability(a, b),
        }
      : undefined,
    seen,
    dispose() {
      adapter?.dispose();
      verifier?.dispose();
    },
  };
}
