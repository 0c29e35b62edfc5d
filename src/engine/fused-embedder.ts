import type { Embedder, FaceChips, InputChip } from './embedder.js';
import { type StageTimer, timed } from './stage-timer.js';

export interface FusedPart {
  embedder: Embedder;
  /** Each of its embeddings is scaled to this L2 norm (its weight in the fusion); unset: kept as it is. */
  norm?: number;
  /** Names its stage in the timings (`embed.<name>`). */
  name?: string;
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

  /**
   * Each part embeds its own chips of the whole batch, one part after the other (they share the
   * thread anyway; so each part's time is its own).
   */
  async embed(faces: readonly FaceChips[], timer?: StageTimer): Promise<Float32Array[]> {
    if (faces.length === 0) return [];
    let first = 0;
    const outputs: Float32Array[][] = [];
    for (const [p, { embedder, name }] of this.parts.entries()) {
      const from = first;
      first += embedder.chips.length;
      const chips = faces.map((face) => face.slice(from, from + embedder.chips.length));
      outputs.push(await timed(timer, `embed.${name ?? p}`, () => embedder.embed(chips)));
    }
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
