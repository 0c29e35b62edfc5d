import type { Point, RgbImage } from './types.js';

/**
 * Alignment: a similarity transform (rotation, uniform scale, translation) that carries a face's
 * points onto dlib's face-chip template (the crop dlib's ResNet was trained on), or onto the mean
 * position of the 51 inner landmarks in that frame.
 */

/** The points a face is aligned by. */
export interface FaceShape {
  /** face-api's 68 landmarks. */
  landmarks: readonly Point[];
  /** dlib's five points (eye corners, nose base) in dlib's order, as DLIB_TEMPLATE lists them. */
  five: readonly Point[];
}

/**
 * dlib's 5-point chip template as fractions of the unpadded chip, in the order of dlib's five-point
 * model, with the 68-point landmark nearest each (used to place that model's box).
 */
const DLIB_TEMPLATE: ReadonlyArray<{ landmark: number; at: Point }> = [
  { landmark: 45, at: [0.8596, 0.2135] }, // subject's left eye, outer corner
  { landmark: 42, at: [0.6461, 0.229] }, // left eye, inner corner
  { landmark: 36, at: [0.1206, 0.2137] }, // right eye, outer corner
  { landmark: 39, at: [0.3341, 0.2291] }, // right eye, inner corner
  { landmark: 33, at: [0.4901, 0.6278] }, // nose base
];

/** The 68-point landmarks at dlib's five points, in dlib's order. */
export function fiveOf68(landmarks: readonly Point[]): Point[] {
  return DLIB_TEMPLATE.map(({ landmark }) => landmarks[landmark]);
}

/**
 * The mean position of the 51 inner landmarks (68-point indices 17-67) in the same frame, measured
 * by carrying the landmarks of the 3,811 LFW pair images onto DLIB_TEMPLATE and averaging them.
 * Fitting all 51 points averages out the noise of single landmarks; a second view of the face.
 */
const INNER_TEMPLATE: ReadonlyArray<Point> = [
  [0.0019, 0.0911],
  [0.0735, 0.0429],
  [0.17, 0.0234],
  [0.2585, 0.0283],
  [0.3387, 0.0561],
  [0.6452, 0.0568],
  [0.7223, 0.0309],
  [0.8069, 0.0191],
  [0.9078, 0.0358],
  [0.9782, 0.0842],
  [0.4917, 0.2304],
  [0.493, 0.341],
  [0.4942, 0.4445],
  [0.4927, 0.5404],
  [0.391, 0.6007],
  [0.4374, 0.6182],
  [0.4946, 0.6287],
  [0.5533, 0.6118],
  [0.5995, 0.601],
  [0.1266, 0.2137],
  [0.1829, 0.1927],
  [0.2607, 0.1899],
  [0.3279, 0.2264],
  [0.269, 0.2529],
  [0.1873, 0.2462],
  [0.6488, 0.2256],
  [0.7194, 0.1857],
  [0.801, 0.1873],
  [0.8527, 0.2186],
  [0.7966, 0.2484],
  [0.7157, 0.2423],
  [0.2678, 0.8054],
  [0.3462, 0.7632],
  [0.4441, 0.7359],
  [0.4962, 0.7453],
  [0.5464, 0.7311],
  [0.6485, 0.766],
  [0.7307, 0.8073],
  [0.6456, 0.8769],
  [0.5756, 0.9147],
  [0.4962, 0.9267],
  [0.426, 0.9181],
  [0.3513, 0.8843],
  [0.2815, 0.8072],
  [0.424, 0.7889],
  [0.497, 0.7899],
  [0.5649, 0.793],
  [0.71, 0.8043],
  [0.5678, 0.8419],
  [0.4987, 0.8486],
  [0.4303, 0.8442],
];
const FIRST_INNER_LANDMARK = 17;

export interface ChipSpec {
  size: number;
  /** dlib's padding: the chip spans the template plus `padding` of its width on each side. */
  padding: number;
  /** Which points are fitted: dlib's five, or the 51 inner landmarks of the 68. */
  fit: 'five-point' | 'inner';
}

/** dlib's standard face chip (get_face_chip_details' defaults): 150x150, padding 0.25, five points. */
export const DLIB_CHIP: ChipSpec = { size: 150, padding: 0.25, fit: 'five-point' };

/** x' = a*x - b*y + tx, y' = b*x + a*y + ty  (a = s cos θ, b = s sin θ). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** Least-squares similarity from `from` to `to` (Umeyama in 2-D, written with complex numbers). */
export function estimateSimilarity(from: readonly Point[], to: readonly Point[]): Similarity {
  const n = from.length;
  let fx = 0,
    fy = 0,
    tx = 0,
    ty = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i][0];
    fy += from[i][1];
    tx += to[i][0];
    ty += to[i][1];
  }
  fx /= n;
  fy /= n;
  tx /= n;
  ty /= n;
  let num_re = 0,
    num_im = 0,
    den = 0;
  for (let i = 0; i < n; i++) {
    const px = from[i][0] - fx,
      py = from[i][1] - fy;
    const qx = to[i][0] - tx,
      qy = to[i][1] - ty;
    // q * conj(p)
    num_re += qx * px + qy * py;
    num_im += qy * px - qx * py;
    den += px * px + py * py;
  }
  const a = num_re / den;
  const b = num_im / den;
  return { a, b, tx: tx - (a * fx - b * fy), ty: ty - (b * fx + a * fy) };
}

export function applySimilarity(t: Similarity, [x, y]: Point): Point {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

/** Where each template point lands in a chip of this spec, in pixels. */
export function chipTemplate(spec: ChipSpec): Point[] {
  const scale = spec.size / (1 + 2 * spec.padding);
  const template = spec.fit === 'inner' ? INNER_TEMPLATE : DLIB_TEMPLATE.map(({ at }) => at);
  return template.map(([x, y]) => [(x + spec.padding) * scale, (y + spec.padding) * scale]);
}

/** The transform from image pixels to chip pixels for a face of this shape. */
export function chipTransform(face: FaceShape, spec: ChipSpec): Similarity {
  const source = spec.fit === 'inner' ? face.landmarks.slice(FIRST_INNER_LANDMARK) : face.five;
  return estimateSimilarity(source, chipTemplate(spec));
}

/** The aligned chip of a face, straight from the image. */
export function alignFace(image: RgbImage, face: FaceShape, spec: ChipSpec): Uint8Array {
  return warpChip(image, chipTransform(face, spec), spec.size);
}

/** The chips of a face for these specs, in order; a spec asked for twice is warped once (the same array). */
export function alignChips(image: RgbImage, face: FaceShape, specs: readonly ChipSpec[]): Uint8Array[] {
  const warped = new Map<string, Uint8Array>();
  return specs.map((spec) => {
    const key = `${spec.size}/${spec.padding}/${spec.fit}`;
    const chip = warped.get(key) ?? alignFace(image, face, spec);
    warped.set(key, chip);
    return chip;
  });
}

/** Samples the chip from the image with bilinear interpolation (edge pixels repeat outside the image). */
export function warpChip(image: RgbImage, imageToChip: Similarity, size: number): Uint8Array {
  // Invert x' = A x + t: x = A^-1 (x' - t), with A^-1 = [a b; -b a] / (a² + b²).
  const { a, b, tx, ty } = imageToChip;
  const det = a * a + b * b;
  const ia = a / det,
    ib = b / det;
  const { data, width, height } = image;
  const out = new Uint8Array(size * size * 3);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const cu = u + 0.5 - tx;
      const cv = v + 0.5 - ty;
      const sx = Math.min(Math.max(ia * cu + ib * cv - 0.5, 0), width - 1);
      const sy = Math.min(Math.max(-ib * cu + ia * cv - 0.5, 0), height - 1);
      const x0 = Math.floor(sx),
        y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, width - 1),
        y1 = Math.min(y0 + 1, height - 1);
      const wx = sx - x0,
        wy = sy - y0;
      const o = (v * size + u) * 3;
      const r0 = y0 * width * 3,
        r1 = y1 * width * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[r0 + x0 * 3 + c] * (1 - wx) + data[r0 + x1 * 3 + c] * wx;
        const bottom = data[r1 + x0 * 3 + c] * (1 - wx) + data[r1 + x1 * 3 + c] * wx;
        out[o + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return out;
}
