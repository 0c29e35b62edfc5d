import type { Point } from '../../src/engine/types.js';
import type { Rng } from '../../src/training/rng.js';

/** The training augmentations of demo:triplet, on standardised width x height grey images. */
export interface AugmentationOptions {
  width: number;
  height: number;
  /** Largest shift each way, in pixels. */
  shift: number;
  /** Largest rotation each way, in degrees (with it, a scaling of +-rotate percent unless zoom is set). */
  rotate: number;
  /** Scaling drawn from [1 - zoom, 1 + zoom]. */
  zoom: number;
  /** Magnification drawn from [1, 1 + zoomIn] (crops in, never leaves empty borders). */
  zoomIn: number;
  /** Contrast and brightness changes of up to this much. */
  jitter: number;
  /** Illumination gradient of up to this many standard deviations at the image's edges. */
  ramp: number;
  /** Probability of random erasing. */
  erase: number;
  /** Probability of drawn glasses (on images whose eyes are known). */
  glasses: number;
}

export interface WarpParameters {
  flip: boolean;
  /** Radians. */
  angle: number;
  /** Magnification about the centre. */
  scale: number;
  dx: number;
  dy: number;
}

export class Augmenter {
  constructor(
    private readonly options: AugmentationOptions,
    /** Eye centres of the images that may get glasses. */
    private readonly eyes: ReadonlyMap<Float32Array, [Point, Point]> = new Map(),
  ) {}

  /**
   * A random horizontal flip and shift of up to `shift` pixels (zero, the mean, where the image moved
   * away); with `rotate` or `zoom` also a random rotation and scaling about the centre (bilinear); `glasses`,
   * `jitter`, `ramp` and `erase` add theirs. Each draws from rng only when its option is set, so a
   * default run's random stream, and its result, stay what they were.
   */
  augment(original: Float32Array, rng: Rng): Float32Array {
    const { width, height, glasses, rotate, zoom, zoomIn, jitter, ramp, erase } = this.options;
    const eyes = this.eyes.get(original);
    const image = eyes && rng.next() < glasses ? this.withGlasses(original, eyes, rng) : original;
    const out = rotate > 0 || zoom > 0 || zoomIn > 0 ? this.affine(image, rng) : this.flipShift(image, rng);
    if (jitter > 0) {
      const contrast = 1 + (2 * rng.next() - 1) * jitter;
      const brightness = (2 * rng.next() - 1) * jitter;
      for (let i = 0; i < out.length; i++) out[i] = out[i] * contrast + brightness;
    }
    if (ramp > 0) {
      // Side lighting: a plane of random direction, +-ramp at the image's edges.
      const angle = 2 * Math.PI * rng.next();
      const amplitude = rng.next() * ramp;
      const gx = (Math.cos(angle) * amplitude) / (width / 2);
      const gy = (Math.sin(angle) * amplitude) / (height / 2);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) out[y * width + x] += gx * (x - width / 2) + gy * (y - height / 2);
    }
    if (erase > 0 && rng.next() < erase) {
      // Random erasing (Zhong et al. 2017): area 2-25% of the image, aspect 0.3-3.3, filled with noise.
      for (let attempt = 0; attempt < 10; attempt++) {
        const area = (0.02 + 0.23 * rng.next()) * width * height;
        const aspect = Math.exp(Math.log(0.3) + (Math.log(3.3) - Math.log(0.3)) * rng.next());
        const h = Math.round(Math.sqrt(area * aspect));
        const w = Math.round(Math.sqrt(area / aspect));
        if (w >= width || h >= height || w < 1 || h < 1) continue;
        const x0 = rng.int(width - w + 1);
        const y0 = rng.int(height - h + 1);
        for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) out[y * width + x] = 2 * rng.next() - 1;
        break;
      }
    }
    return out;
  }

  /**
   * A copy with glasses drawn on: an elliptical ring round each eye (radius 0.35-0.5 of the eye
   * distance, 0.6-1.6 px thick), a bridge between them and temples towards the ears, all dark or all
   * bright (frames or reflections). People here take their glasses off between photos; this shows
   * the network the same face with and without.
   */
  private withGlasses(image: Float32Array, [a, b]: [Point, Point], rng: Rng): Float32Array {
    const { width, height } = this.options;
    const out = image.slice();
    const distance = Math.hypot(b[0] - a[0], b[1] - a[1]);
    const rx = distance * (0.35 + 0.15 * rng.next());
    const ry = rx * (0.7 + 0.2 * rng.next());
    const thickness = 0.6 + rng.next();
    const value = (rng.next() < 0.75 ? -1 : 1) * (1.5 + rng.next());
    const [left, right] = a[0] < b[0] ? [a, b] : [b, a];
    const onSegment = (x: number, y: number, p: Point, q: Point) => {
      const [dx, dy] = [q[0] - p[0], q[1] - p[1]];
      const t = Math.min(1, Math.max(0, ((x - p[0]) * dx + (y - p[1]) * dy) / (dx * dx + dy * dy)));
      return Math.hypot(x - p[0] - t * dx, y - p[1] - t * dy) <= thickness / 2;
    };
    const segments: [Point, Point][] = [
      [
        [left[0] + rx, left[1]],
        [right[0] - rx, right[1]],
      ],
      [
        [left[0] - rx, left[1]],
        [left[0] - rx - 0.6 * distance, left[1] - 0.1 * distance],
      ],
      [
        [right[0] + rx, right[1]],
        [right[0] + rx + 0.6 * distance, right[1] - 0.1 * distance],
      ],
    ];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const ring = [left, right].some(([cx, cy]) => {
          const r = Math.hypot((x - cx) / rx, (y - cy) / ry);
          return Math.abs(r - 1) * Math.min(rx, ry) <= thickness / 2;
        });
        if (ring || segments.some(([p, q]) => onSegment(x, y, p, q))) out[y * width + x] = value;
      }
    }
    return out;
  }

  private flipShift(image: Float32Array, rng: Rng): Float32Array {
    const { width, height, shift } = this.options;
    const flip = rng.next() < 0.5;
    const dx = rng.int(2 * shift + 1) - shift;
    const dy = rng.int(2 * shift + 1) - shift;
    const out = new Float32Array(image.length);
    for (let y = 0; y < height; y++) {
      const sy = y + dy;
      if (sy < 0 || sy >= height) continue;
      for (let x = 0; x < width; x++) {
        let sx = x + dx;
        if (sx < 0 || sx >= width) continue;
        if (flip) sx = width - 1 - sx;
        out[y * width + x] = image[sy * width + sx];
      }
    }
    return out;
  }

  private affine(image: Float32Array, rng: Rng): Float32Array {
    const { width, height, shift, rotate, zoom, zoomIn } = this.options;
    const flip = rng.next() < 0.5;
    const angle = ((2 * rng.next() - 1) * rotate * Math.PI) / 180;
    const scale = zoomIn > 0 ? 1 + rng.next() * zoomIn : 1 + (2 * rng.next() - 1) * (zoom > 0 ? zoom : rotate / 100);
    const dx = (2 * rng.next() - 1) * shift;
    const dy = (2 * rng.next() - 1) * shift;
    return warp(image, width, height, { flip, angle, scale, dx, dy });
  }
}

/** A width x height image flipped, rotated by angle (radians) and magnified by scale about its centre, then moved by (dx, dy); bilinear, zero outside. */
export function warp(
  image: Float32Array,
  width: number,
  height: number,
  { flip, angle, scale, dx, dy }: WarpParameters,
): Float32Array {
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const out = new Float32Array(image.length);
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : image[y * width + x]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const ox = (flip ? width - 1 - x : x) - cx - dx;
      const oy = y - cy - dy;
      const sx = cos * ox - sin * oy + cx;
      const sy = sin * ox + cos * oy + cy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      out[y * width + x] =
        (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
        fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
    }
  }
  return out;
}
