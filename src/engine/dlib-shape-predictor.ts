import { readFile } from 'node:fs/promises';
import { DlibReader } from './dlib-serialization.js';
import { estimateSimilarity } from './face-alignment.js';
import type { Point, RgbImage } from './types.js';

/** A square box in image pixels as dlib's `rectangle` has it: right = left + size - 1. */
export interface PredictorBox {
  left: number;
  top: number;
  size: number;
}

/**
 * One level of the cascade: where its feature pixels are sampled (an anchor landmark and an offset
 * in mean-shape units) and its trees, all complete binary trees of the same depth, packed in
 * typed arrays: tree t's split s at t * splitsPerTree + s, its leaf l (a correction of every shape
 * coordinate) at (t * (splitsPerTree + 1) + l) * shape length.
 */
interface CascadeLevel {
  anchors: Int32Array;
  deltas: Float32Array;
  splitA: Int32Array;
  splitB: Int32Array;
  thresholds: Float32Array;
  leaves: Float32Array;
  trees: number;
  splitsPerTree: number;
}

/**
 * dlib's shape_predictor (Kazemi and Sullivan's ensemble of regression trees) with dlib's inference
 * (shape_predictor.h): the mean shape is placed in the face's box, then each level of the cascade
 * samples grey pixels relative to the current shape and its trees, splitting on pixel differences,
 * add their leaves' corrections. Used with dlib's five-point model: the points dlib aligned its
 * ResNet's training chips with.
 */
export class DlibShapePredictor {
  private constructor(
    /** The mean shape in box coordinates (0..1): x0, y0, x1, y1, ... */
    private readonly meanShape: Float32Array,
    private readonly levels: CascadeLevel[],
  ) {}

  /** Parses a file written by dlib's `serialize(shape_predictor)`. */
  static parse(data: Buffer): DlibShapePredictor {
    const reader = new DlibReader(data);
    const version = reader.int();
    if (version !== 1) throw new Error(`dlib shape_predictor: version ${version}, expected 1`);
    const meanShape = reader.vector();
    const forests = reader.list(() =>
      reader.list(() => ({
        splits: reader.list(() => ({ a: reader.int(), b: reader.int(), threshold: reader.float() })),
        leaves: reader.list(() => reader.vector()),
      })),
    );
    const anchors = reader.list(() => reader.list(() => reader.int()));
    const deltas = reader.list(() => reader.list(() => [reader.float(), reader.float()]));
    if (!reader.atEnd || anchors.length !== forests.length || deltas.length !== forests.length)
      throw new Error('dlib shape_predictor: unexpected layout');
    const levels = forests.map((trees, level): CascadeLevel => {
      const splitsPerTree = trees[0].splits.length;
      if (trees.some((t) => t.splits.length !== splitsPerTree || t.leaves.length !== splitsPerTree + 1))
        throw new Error('dlib shape_predictor: trees of unequal depth');
      return {
        anchors: Int32Array.from(anchors[level]),
        deltas: Float32Array.from(deltas[level].flat()),
        splitA: Int32Array.from(trees.flatMap((t) => t.splits.map((s) => s.a))),
        splitB: Int32Array.from(trees.flatMap((t) => t.splits.map((s) => s.b))),
        thresholds: Float32Array.from(trees.flatMap((t) => t.splits.map((s) => s.threshold))),
        leaves: Float32Array.from(trees.flatMap((t) => t.leaves.flatMap((leaf) => [...leaf]))),
        trees: trees.length,
        splitsPerTree,
      };
    });
    return new DlibShapePredictor(meanShape, levels);
  }

  static async load(file: string): Promise<DlibShapePredictor> {
    return DlibShapePredictor.parse(await readFile(file));
  }

  get pointCount(): number {
    return this.meanShape.length / 2;
  }

  /**
   * The square box that puts the mean shape closest to these points (least squares over position
   * and size): a face box in the predictor's own convention, from landmarks another model found.
   */
  boxFor(points: readonly Point[]): PredictorBox {
    const mean = shapePoints(this.meanShape);
    if (points.length !== mean.length)
      throw new RangeError(`boxFor: ${points.length} points, the model has ${mean.length}`);
    const centroid = (ps: readonly Point[]) =>
      ps.reduce<Point>((c, p) => [c[0] + p[0] / ps.length, c[1] + p[1] / ps.length], [0, 0]);
    const [mx, my] = centroid(mean);
    const [px, py] = centroid(points);
    let num = 0,
      den = 0;
    for (let i = 0; i < mean.length; i++) {
      const dx = mean[i][0] - mx,
        dy = mean[i][1] - my;
      num += dx * (points[i][0] - px) + dy * (points[i][1] - py);
      den += dx * dx + dy * dy;
    }
    const span = num / den;
    return { left: px - span * mx, top: py - span * my, size: span + 1 };
  }

  /** The landmarks, in image pixels, of the face in this box. */
  predict(image: RgbImage, box: PredictorBox): Point[] {
    const shape = Float32Array.from(this.meanShape);
    const reference = shapePoints(this.meanShape);
    const span = box.size - 1;
    const { data, width, height } = image;
    const size = shape.length;
    for (const level of this.levels) {
      // Feature pixels move with the face: each offset is carried by the similarity (without
      // translation) from the mean shape to the current one, then added to its anchor landmark.
      const { a, b } = estimateSimilarity(reference, shapePoints(shape));
      const pixels = new Float32Array(level.anchors.length);
      for (let i = 0; i < pixels.length; i++) {
        const dx = level.deltas[2 * i],
          dy = level.deltas[2 * i + 1];
        const anchor = 2 * level.anchors[i];
        // dlib rounds to the nearest pixel and reads 0 outside the image; grey is the mean of R, G, B.
        const x = Math.floor(box.left + (a * dx - b * dy + shape[anchor]) * span + 0.5);
        const y = Math.floor(box.top + (b * dx + a * dy + shape[anchor + 1]) * span + 0.5);
        if (x >= 0 && y >= 0 && x < width && y < height) {
          const o = (y * width + x) * 3;
          pixels[i] = Math.floor((data[o] + data[o + 1] + data[o + 2]) / 3);
        }
      }
      const { splitsPerTree } = level;
      for (let t = 0; t < level.trees; t++) {
        const first = t * splitsPerTree;
        let node = 0;
        while (node < splitsPerTree) {
          const s = first + node;
          node = pixels[level.splitA[s]] - pixels[level.splitB[s]] > level.thresholds[s] ? 2 * node + 1 : 2 * node + 2;
        }
        const leaf = (t * (splitsPerTree + 1) + node - splitsPerTree) * size;
        for (let k = 0; k < size; k++) shape[k] += level.leaves[leaf + k];
      }
    }
    return shapePoints(shape).map(([u, v]): Point => [box.left + u * span, box.top + v * span]);
  }
}

function shapePoints(shape: Float32Array): Point[] {
  return Array.from({ length: shape.length / 2 }, (_, i): Point => [shape[2 * i], shape[2 * i + 1]]);
}
