/** The 1:N decision rule's parameters; src/identification/identification-rule.ts applies them. */
export interface IdentificationRule {
  /** A face is named when its score is at most this. */
  threshold: number;
  /** How much the margin to the second person counts (0: plain distance threshold). */
  marginWeight: number;
}

/** The registered components (component-registry.ts) that compute a model's embeddings. */
export interface ModelComponents {
  detector: string;
  landmarks: string;
  embedder: string;
}

/**
 * Everything a model id stands for, in one place: the components that compute its embeddings, how
 * two embeddings compare, and the thresholds calibrated on them. The id names galleries, indexes
 * and change logs, so embeddings of different cards never meet in one index; a card whose
 * components or thresholds change gets a new id.
 */
export interface ModelCard {
  id: string;
  components: ModelComponents;
  /** What the detector and the embedder are, in words: reported in every JSON output. */
  detector: string;
  embedder: string;
  /** The dissimilarity of two embeddings (face-distance.ts); lower is more alike. */
  distance: 'euclidean';
  embeddingSize: number;
  /** 1:1 verification threshold on the distance. */
  threshold: number;
  /** The 1:N decision rule. */
  identification: IdentificationRule;
}
