/**
 * The part of face-api's SSD-MobileNet that runs after the network, in JS: the box decoding of its
 * output layer (ssdMobilenetv1/outputLayer.ts) and its non-maximum suppression
 * (nonMaxSuppression.ts), computed as face-api computes them, in float32 (Math.fround after each
 * operation), but only for the anchors that pass the score floor.
 */

/** A decoded box, relative to the 512 x 512 input: [ymin, xmin, ymax, xmax], and its score. */
export interface SsdBox {
  box: [number, number, number, number];
  score: number;
}

const f = Math.fround;

/** sigmoid as tfjs computes it: 1 / (1 + exp(-x)). */
const sigmoid = (x: number) => f(1 / f(1 + f(Math.exp(-x))));

/** The face score of every anchor of one image: the sigmoid of its second class logit. */
export function ssdScores(logits: Float32Array, anchors: number, image = 0): Float32Array {
  const scores = new Float32Array(anchors);
  const base = image * anchors * 3;
  for (let i = 0; i < anchors; i++) scores[i] = sigmoid(logits[base + i * 3 + 1]!);
  return scores;
}

/** Anchor `i`'s box from its encoding (face-api's decodeBoxesLayer). */
export function decodeBox(encodings: Float32Array, anchorBoxes: Float32Array, i: number, image = 0): SsdBox['box'] {
  const anchors = anchorBoxes.length / 4;
  const a = i * 4;
  const e = (image * anchors + i) * 4;
  const size0 = f(anchorBoxes[a + 2]! - anchorBoxes[a]!);
  const size1 = f(anchorBoxes[a + 3]! - anchorBoxes[a + 1]!);
  const center0 = f(anchorBoxes[a]! + f(size0 / 2));
  const center1 = f(anchorBoxes[a + 1]! + f(size1 / 2));
  const half0 = f(f(f(Math.exp(f(encodings[e + 2]! / 5))) * size0) / 2);
  const mid0 = f(f(f(encodings[e]! / 10) * size0) + center0);
  const half1 = f(f(f(Math.exp(f(encodings[e + 3]! / 5))) * size1) / 2);
  const mid1 = f(f(f(encodings[e + 1]! / 10) * size1) + center1);
  return [f(mid0 - half0), f(mid1 - half1), f(mid0 + half0), f(mid1 + half1)];
}

function iou(a: SsdBox['box'], b: SsdBox['box']): number {
  const [ay0, ax0, ay1, ax1] = [Math.min(a[0], a[2]), Math.min(a[1], a[3]), Math.max(a[0], a[2]), Math.max(a[1], a[3])];
  const [by0, bx0, by1, bx1] = [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
  const areaA = (ay1 - ay0) * (ax1 - ax0);
  const areaB = (by1 - by0) * (bx1 - bx0);
  if (areaA <= 0 || areaB <= 0) return 0;
  const inter =
    Math.max(Math.min(ay1, by1) - Math.max(ay0, by0), 0) * Math.max(Math.min(ax1, bx1) - Math.max(ax0, bx0), 0);
  return inter / (areaA + areaB - inter);
}

/**
 * face-api's SSD post-processing of one image of a batch: the anchors scoring over `minConfidence`,
 * decoded, best first, each dropped when it overlaps a kept one by IoU over 0.5.
 */
export function decodeSsd(
  encodings: Float32Array,
  logits: Float32Array,
  anchorBoxes: Float32Array,
  options: { minConfidence: number; maxResults: number },
  image = 0,
): SsdBox[] {
  const anchors = anchorBoxes.length / 4;
  const scores = ssdScores(logits, anchors, image);
  const candidates: SsdBox[] = [];
  for (let i = 0; i < anchors; i++) {
    if (scores[i]! > options.minConfidence)
      candidates.push({ score: scores[i]!, box: decodeBox(encodings, anchorBoxes, i, image) });
  }
  candidates.sort((a, b) => b.score - a.score);
  const outputSize = Math.min(options.maxResults, anchors);
  const selected: SsdBox[] = [];
  for (const candidate of candidates) {
    if (selected.length >= outputSize) break;
    // face-api multiplies the score by 0 at the first overlap over 0.5: the candidate is dropped.
    if (!selected.some((kept) => iou(candidate.box, kept.box) > 0.5)) selected.push(candidate);
  }
  return selected;
}
