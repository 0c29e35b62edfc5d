// The AT&T faces (sN/M.pgm, 92x112 grey) as demo:triplet reads and prepares them.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { estimateSimilarity, fiveOf68, warpChip } from '../../src/engine/face-alignment.js';
import { FaceEngine } from '../../src/engine/face-engine.js';
import type { BackendName } from '../../src/engine/tf-backend.js';
import type { Point } from '../../src/engine/types.js';
import { centralFace } from '../../src/evaluation/evaluation-runner.js';
import { downscaleGrey, parsePgm, type GreyImage } from './pgm.js';
import type { Rng } from '../../src/training/rng.js';
import { forEachConcurrent } from '../../src/util/for-each-concurrent.js';

/** A subject's images as the network takes them: downscaled, standardised. */
export interface Subject {
  name: string;
  images: Float32Array[];
}

export interface RawImage {
  /** `sN/M.pgm` */
  key: string;
  pgm: GreyImage;
}

export interface RawSubject {
  name: string;
  images: RawImage[];
}

export interface PreparationOptions {
  /** The photos are downscaled by this factor (2: 46x56). */
  factor: number;
  /** Move each face onto the training images' mean position, scale and angle (see alignedFrames). */
  align: boolean;
  /** Tan & Triggs' illumination normalisation before downscaling. */
  tanTriggs: boolean;
  /** Locate the eyes of the training images (for the glasses augmentation). */
  findEyes: boolean;
}

export interface PreparedSubjects {
  subjects: Subject[];
  /** Eye centres of the prepared training images in the network's input frame (with findEyes). */
  eyes: Map<Float32Array, [Point, Point]>;
}

/** The network's input size for a downscaling factor of the 92x112 photos. */
export function frameSize(factor: number): { width: number; height: number } {
  return { width: Math.floor(92 / factor), height: Math.floor(112 / factor) };
}

/** Subjects in numeric order (s1 ... s40), their images as decoded (92x112 grey). */
export async function loadSubjects(dir: string, { equalize }: { equalize: boolean }): Promise<RawSubject[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && /^s\d+$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  return Promise.all(
    names.map(async (name) => {
      const files = (await readdir(path.join(dir, name)))
        .filter((f) => f.endsWith('.pgm'))
        .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
      const images = await Promise.all(
        files.map(async (f) => {
          const pgm = parsePgm(await readFile(path.join(dir, name, f)));
          if (pgm.width !== 92 || pgm.height !== 112) throw new Error(`${name}/${f}: expected 92x112`);
          return { key: `${name}/${f}`, pgm: equalize ? { ...pgm, data: equalizeHistogram(pgm.data) } : pgm };
        }),
      );
      return { name, images };
    }),
  );
}

/**
 * The network's inputs: each image downscaled by `factor` (with `align`, first moved onto the
 * training images' mean face position, see alignedFrames) and standardised (zero mean, unit variance).
 */
export async function prepare(
  subjects: RawSubject[],
  training: RawSubject[],
  options: PreparationOptions,
): Promise<PreparedSubjects> {
  const { factor } = options;
  const trainingImages = training.flatMap((s) => s.images);
  const frames = options.align
    ? await alignedFrames(
        subjects.flatMap((s) => s.images),
        new Set(trainingImages.map((i) => i.key)),
        factor,
      )
    : undefined;
  const points = options.findEyes ? await fivePoints(trainingImages) : undefined;
  const eyes = new Map<Float32Array, [Point, Point]>();
  const prepared = subjects.map(({ name, images }) => ({
    name,
    images: images.map(({ key, pgm }) => {
      const image = standardise(
        frames ? frames.get(key)! : downscaleGrey(options.tanTriggs ? tanTriggs(pgm) : pgm, factor).data,
      );
      const five = points?.get(key);
      // Eye centres: the midpoints of each eye's two corners (dlib's order: left eye, right eye, nose).
      if (five)
        eyes.set(
          image,
          [0, 2].map((j) => [
            (five[j][0] + five[j + 1][0]) / 2 / factor,
            (five[j][1] + five[j + 1][1]) / 2 / factor,
          ]) as [Point, Point],
        );
      return image;
    }),
  }));
  return { subjects: prepared, eyes };
}

/** dlib's five points (eye corners, nose base) of each image's face (the one nearest the centre), from the engine's detector and 68 landmarks. */
async function fivePoints(images: RawImage[]): Promise<Map<string, Point[]>> {
  const engine = await FaceEngine.start({ backend: process.env.FACEPIPE_BACKEND as BackendName | undefined });
  const points = new Map<string, Point[]>();
  try {
    await forEachConcurrent(images, engine.options.threads * 2, async ({ key, pgm }) => {
      const png = await sharp(pgm.data, { raw: { width: pgm.width, height: pgm.height, channels: 1 } })
        .png()
        .toBuffer();
      const face = centralFace(await engine.detect({ bytes: png, name: key }));
      if (face) points.set(key, fiveOf68(face.landmarks));
    });
  } finally {
    await engine.close();
  }
  return points;
}

/**
 * Scale, rotation and position normalised as the engine normalises faces, but onto the frame the
 * photos were taken in: the engine's detector and 68 landmarks (pretrained, frozen: they only
 * locate the face; the CNN still starts from random weights) give five points per image, and a
 * similarity transform carries them onto the training images' mean five points, downscaled by
 * `factor`. A typical photo barely moves; a close-up or a tilted head is brought to the common
 * scale and angle. An image without a face (the nearest the centre is used when there are
 * several) keeps the identity transform.
 */
async function alignedFrames(
  images: RawImage[],
  trainingKeys: Set<string>,
  factor: number,
): Promise<Map<string, Float32Array>> {
  const { width, height } = frameSize(factor);
  const points = await fivePoints(images);
  const trained = [...points].filter(([key]) => trainingKeys.has(key)).map(([, p]) => p);
  const target: Point[] = Array.from(
    { length: 5 },
    (_, j): Point => [
      trained.reduce((sum, p) => sum + p[j][0], 0) / trained.length / factor,
      trained.reduce((sum, p) => sum + p[j][1], 0) / trained.length / factor,
    ],
  );
  console.log(`aligned ${points.size} of ${images.length} images on their landmarks (the others as they are)`);
  const side = Math.max(width, height);
  return new Map(
    images.map(({ key, pgm }) => {
      const from = points.get(key);
      const transform = from ? estimateSimilarity(from, target) : { a: 1 / factor, b: 0, tx: 0, ty: 0 };
      const rgb = new Uint8Array(pgm.data.length * 3);
      pgm.data.forEach((v, i) => {
        rgb.fill(v, 3 * i, 3 * i + 3);
      });
      // warpChip makes a square; the frame is its top-left width x height.
      const chip = warpChip({ data: rgb, width: pgm.width, height: pgm.height }, transform, side);
      const frame = new Float32Array(width * height);
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) frame[y * width + x] = chip[3 * (y * side + x)];
      return [key, frame];
    }),
  );
}

/** Grey levels mapped through the image's cumulative histogram (histogram equalisation). */
function equalizeHistogram(data: Uint8Array): Uint8Array {
  const counts = new Array<number>(256).fill(0);
  for (const v of data) counts[v]++;
  const cdf: number[] = [];
  let sum = 0;
  for (const c of counts) {
    sum += c;
    cdf.push(sum);
  }
  const min = cdf.find((c) => c > 0) ?? 0;
  const span = Math.max(1, data.length - min);
  return data.map((v) => Math.round((255 * (cdf[v] - min)) / span));
}

/**
 * Tan & Triggs' preprocessing ("Enhanced local texture feature sets for face recognition under
 * difficult lighting conditions", 2010): gamma 0.2 compresses shadows, a difference of Gaussians
 * (sigma 1 and 2 px) removes slow shading and the finest noise, and two rounds of contrast
 * equalisation with a tanh squash bound what remains.
 */
function tanTriggs(image: GreyImage): { width: number; height: number; data: Float32Array } {
  const { width, height } = image;
  const gamma = Float32Array.from(image.data, (v) => (v / 255) ** 0.2);
  const wide = gaussianBlur(gamma, width, height, 2);
  const dog = gaussianBlur(gamma, width, height, 1).map((v, i) => v - wide[i]);
  const a = 0.1;
  const tau = 10;
  const meanPower = (f: (v: number) => number) => (dog.reduce((sum, v) => sum + f(v) ** a, 0) / dog.length) ** (1 / a);
  const first = meanPower(Math.abs);
  for (let i = 0; i < dog.length; i++) dog[i] /= first;
  const second = meanPower((v) => Math.min(tau, Math.abs(v)));
  for (let i = 0; i < dog.length; i++) dog[i] = tau * Math.tanh(dog[i] / second / tau);
  return { width, height, data: dog };
}

/** Separable Gaussian blur (kernel radius 3 sigma), edges clamped. */
function gaussianBlur(data: Float32Array, width: number, height: number, sigma: number): Float32Array {
  const radius = Math.ceil(3 * sigma);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((s, v) => s + v, 0);
  const weights = kernel.map((v) => v / total);
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  const rows = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += weights[k + radius] * data[y * width + clamp(x + k, width)];
      rows[y * width + x] = sum;
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += weights[k + radius] * rows[clamp(y + k, height) * width + x];
      out[y * width + x] = sum;
    }
  }
  return out;
}

/** Zero mean, unit variance (a flat image stays flat). */
export function standardise(x: Float32Array): Float32Array {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length) || 1;
  return x.map((v) => (v - mean) / std);
}

/**
 * Virtual people for training: `count` distinct random pairs of the given subjects, named
 * `sA+sB`, each image the average of one photo of the first (each in turn) and a random photo of
 * the second, standardised again.
 */
export function morphedIdentities(subjects: readonly Subject[], count: number, rng: Rng): Subject[] {
  const morphs: Subject[] = [];
  const used = new Set<string>();
  const wanted = Math.min(count, (subjects.length * (subjects.length - 1)) / 2);
  while (morphs.length < wanted) {
    const a = rng.int(subjects.length);
    const b = rng.int(subjects.length);
    const name = `${subjects[Math.min(a, b)].name}+${subjects[Math.max(a, b)].name}`;
    if (a === b || used.has(name)) continue;
    used.add(name);
    const others = subjects[b].images;
    const images = subjects[a].images.map((image) => {
      const other = others[rng.int(others.length)];
      return standardise(image.map((v, i) => (v + other[i]) / 2));
    });
    morphs.push({ name, images });
  }
  return morphs;
}
