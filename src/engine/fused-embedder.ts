import type { Embedder, FaceChips, InputChip } from './embedder.js';

export interface FusedPart {
  embedder: Embedder;
  /** Each of its embeddings is scaled to this L2 norm (its weight in the fusion); unset: kept as it is. */
  norm?: number;
}

/**
 * The concatenation of several embedders' embeddings. Squared Euclidean distance over it is the sum
 * of the parts' (each weighted by its norm squared): a score-level fusion that stays a plain
 * Euclidean space, so the index can search it as it is.
 */
export class FusedEmbedder implements Embedder {
  readonly chips: readonly InputChip[];
  readonly embeddingSize: number;

  constructor(private readonly parts: readonly FusedPart[]) {
    this.chips = parts.flatMap((part) => part.embedder.chips);
    this.embeddingSize = parts.reduce((sum, part) => sum + part.embedder.embeddingSize, 0);
  }

  /** Each part embeds its own chips of the whole batch, all parts at once. */
  async embed(faces: readonly FaceChips[]): Promise<Float32Array[]> {
    if (faces.length === 0) return [];
    let first = 0;
    const outputs = await Promise.all(
      this.parts.map(({ embedder }) => {
        const from = first;
        first += embedder.chips.length;
        return embedder.embed(faces.map((chips) => chips.slice(from, from + embedder.chips.length)));
      }),
    );
    return faces.map((_, i) => {
      const embedding = new Float32Array(this.embeddingSize);
      let at = 0;
      this.parts.forEach(({ norm }, p) => {
        const row = outputs[p][i];
        if (norm === undefined) embedding.set(row, at);
        else {
          const scale = norm / Math.hypot(...row);
          for (let k = 0; k < row.length; k++) embedding[at + k] = row[k] * scale;
        }
        at += row.length;
      });
      return embedding;
    });
  }
}
