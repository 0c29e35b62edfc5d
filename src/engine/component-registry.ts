import type { AnalyzerOptions } from './engine-types.js';
import type { Embedder } from './embedder.js';
import type { FaceDetectorModel } from './face-detector-model.js';
import type { LandmarkModel } from './landmark-model.js';
import type { ModelCard } from './model-card.js';
import type { TfBackend } from './tf-backend.js';

/** What a component is built with, in each worker thread. */
export interface ComponentContext {
  backend: TfBackend;
  options: AnalyzerOptions;
}

export type ComponentFactory<T> = (context: ComponentContext) => Promise<T>;

interface Kind<T> {
  label: string;
  factories: Map<string, ComponentFactory<T>>;
}

const detectors: Kind<FaceDetectorModel> = { label: 'detector', factories: new Map() };
const landmarkModels: Kind<LandmarkModel> = { label: 'landmark model', factories: new Map() };
const embedders: Kind<Embedder> = { label: 'embedder', factories: new Map() };

function register<T>(kind: Kind<T>, name: string, factory: ComponentFactory<T>): void {
  // A second registration under one name would make a card's meaning depend on import order.
  if (kind.factories.has(name)) throw new Error(`a ${kind.label} named "${name}" is already registered`);
  kind.factories.set(name, factory);
}

function factory<T>(kind: Kind<T>, name: string): ComponentFactory<T> {
  const found = kind.factories.get(name);
  if (!found) {
    throw new Error(
      `no ${kind.label} named "${name}" is registered (known: ${[...kind.factories.keys()].join(', ') || 'none'})`,
    );
  }
  return found;
}

export function registerDetector(name: string, factory: ComponentFactory<FaceDetectorModel>): void {
  register(detectors, name, factory);
}

export function registerLandmarkModel(name: string, factory: ComponentFactory<LandmarkModel>): void {
  register(landmarkModels, name, factory);
}

export function registerEmbedder(name: string, factory: ComponentFactory<Embedder>): void {
  register(embedders, name, factory);
}

export interface Components {
  detector: FaceDetectorModel;
  landmarks: LandmarkModel;
  embedder: Embedder;
}

/** Builds the components a card names; throws when one is unknown or its embeddings are not the card's size. */
export async function createComponents(
  card: Pick<ModelCard, 'id' | 'components' | 'embeddingSize'>,
  context: ComponentContext,
): Promise<Components> {
  const { components } = card;
  // Every name is checked before any model starts loading.
  const factories = [
    factory(detectors, components.detector),
    factory(landmarkModels, components.landmarks),
    factory(embedders, components.embedder),
  ] as const;
  const [detector, landmarks, embedder] = await Promise.all([
    factories[0](context),
    factories[1](context),
    factories[2](context),
  ]);
  if (embedder.embeddingSize !== card.embeddingSize) {
    throw new Error(
      `model ${card.id}: the embedder "${components.embedder}" computes ${embedder.embeddingSize}-D embeddings, the card says ${card.embeddingSize}`,
    );
  }
  return { detector, landmarks, embedder };
}
