/**
 * A test-only embedder, registered through the engine's plugin interface (EngineOptions.plugins):
 * a deterministic embedding computed from the pixels of one small aligned chip. No network: it
 * only shows that the engine runs any Embedder a card names.
 */
import { registerEmbedder } from '../../src/engine/component-registry.js';
import type { Embedder, FaceChips, InputChip } from '../../src/engine/embedder.js';
import type { ModelCard } from '../../src/engine/model-card.js';

export const PIXEL_EMBEDDER = 'test-pixels';
const CHIP: InputChip = { size: 32, padding: 0.1, fit: 'five-point', pixelRange: [0, 1] };
/** The chip is averaged over CELL x CELL blocks; only its left half is kept, mirrored faces alike. */
const CELL = 4;
const GRID = CHIP.size / CELL;
const SIZE = GRID * (GRID / 2);

/**
 * Grey levels of the chip in 4x4 blocks, each averaged with its mirror block (a mirrored photo
 * gives the same embedding), then centred and scaled to unit length (brightness and contrast drop out).
 */
export class PixelEmbedder implements Embedder {
  readonly chips = [CHIP];
  readonly embeddingSize = SIZE;

  async embed(batch: readonly FaceChips[]): Promise<Float32Array[]> {
    return batch.map(([chip]) => {
      const [min, max] = CHIP.pixelRange;
      const grey = (x: number, y: number) => {
        const i = (y * CHIP.size + x) * 3;
        return min + ((chip[i] + chip[i + 1] + chip[i + 2]) / (3 * 255)) * (max - min);
      };
      const cells = new Float32Array(SIZE);
      for (let gy = 0; gy < GRID; gy++) {
        for (let gx = 0; gx < GRID / 2; gx++) {
          let sum = 0;
          for (let y = gy * CELL; y < (gy + 1) * CELL; y++) {
            for (let x = gx * CELL; x < (gx + 1) * CELL; x++) sum += grey(x, y) + grey(CHIP.size - 1 - x, y);
          }
          cells[gy * (GRID / 2) + gx] = sum;
        }
      }
      const mean = cells.reduce((a, b) => a + b, 0) / SIZE;
      for (let k = 0; k < SIZE; k++) cells[k] -= mean;
      const norm = Math.hypot(...cells) || 1;
      return cells.map((v) => v / norm);
    });
  }
}

registerEmbedder(PIXEL_EMBEDDER, async () => new PixelEmbedder());

/** A model of the shipped detector and landmarks with the pixel embedder. */
export const PIXEL_CARD: ModelCard = {
  id: 'test-pixels-v1',
  components: { detector: 'face-api', landmarks: 'face-api-68+dlib-5', embedder: PIXEL_EMBEDDER },
  detector: 'face-api (the shipped detector)',
  embedder: 'test only: 8x4 grey blocks of a 32 px chip, mirror-averaged, centred, unit length',
  distance: 'euclidean',
  embeddingSize: SIZE,
  // On the test's faces: the same person 0.08-0.12 apart (another crop, mirrored, brighter), others 0.50 and more.
  threshold: 0.3,
  identification: { threshold: 0.3, marginWeight: 0 },
};
