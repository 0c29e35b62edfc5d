/**
 * npm run demo:triplet [-- --epochs 40 --mining batch-all --margin 0.2 --p 10 --k 5 --dropout 0.3 --seed 1]
 *
 * Proof that the triplet machinery learns: a small CNN from random initialisation is trained end
 * to end with the triplet loss (online mining in P x K batches) on 30 of the 40 AT&T subjects
 * (../shared/datasets/att-faces, 92x112 grey PGM, downscaled to 46x56), and verification is
 * measured on pairs of the other 10 subjects, people the network never saw: all 450 same-person
 * pairs and 450 different-person pairs drawn at random, scored by the Euclidean distance of the
 * embeddings (each image's averaged with its mirror image's, as the engine does; --no-tta: not),
 * accuracy cross-validated over 10 folds (each fold's threshold chosen on the other 9).
 * Defaults (the best measured, docs/training.md): CNN 3x(conv3x3-ReLU-maxpool) [16, 32, 64],
 * flattened, dense 64; batch-all mining, margin 0.2, squared distance, P=10 x K=5; 40 epochs of Adam
 * 1e-3 (a tenth of it for the last quarter of the epochs); dropout 0.3 before the dense layer (masks
 * seeded from --seed, so a run is reproducible); random flips and shifts of up to 3 px; 46x56 input.
 * Other flags are for experiments: --scale, --rotate, --zoom, --jitter, --erase, --ramp, --glasses, --equalize, --channels,
 * --convs-per-block, --kernel, --norm batch, --weight-decay, --schedule cosine, --embedding-size, --tta-shift,
 * --head average, --distance euclidean, --eval-every, --align (faces moved onto a common position,
 * scale and angle with the engine's landmarks), --ensemble N (N nets, mean squared distance).
 * Validation without touching s31-s40:
 * --subjects 30 --train-subjects 20 [--test-offset 0|10|20] holds out s1-s10, s11-s20 or s21-s30.
 * After training it also prints the accuracy with other test-time augmentations (none, flip, flip
 * and shifts) and with the test embeddings centred on the training images' mean, for information:
 * "after" is with the configured one; and the errors by unseen subject (misses of its same-person
 * pairs, false matches with others) at the threshold chosen on all pairs.
 * Prints the accuracy before and after training, and as its last line
 * {"before", "after", "epochs", "seconds", ...}. Skips (exit 0) where the data folder is absent.
 * Runs on the backend selectBackend() picks (FACEPIPE_BACKEND forces one), as the engine does.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import { faceDistance } from '../src/engine/face-distance.js';
import { crossValidate } from '../src/evaluation/verification-metrics.js';
import { centralFace } from '../src/evaluation/evaluation-runner.js';
import type { ScoredPair } from '../src/evaluation/types.js';
import sharp from 'sharp';
import { estimateSimilarity, warpChip } from '../src/engine/face-alignment.js';
import type { Point } from '../src/engine/types.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { forEachConcurrent } from '../src/util/for-each-concurrent.js';
import { downscaleGrey, parsePgm, type GreyImage } from '../src/training/pgm.js';
import { Rng } from '../src/training/rng.js';
import { SmallCnn, hasConvFilterGradient } from '../src/training/small-cnn.js';
import type { TripletDistance } from '../src/training/triplet-loss.js';
import { trainTriplet } from '../src/training/triplet-trainer.js';
import type { Tensor4D } from '../src/training/tf-types.js';
import { MINING_STRATEGIES, type MiningStrategy } from '../src/training/triplet-mining.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve('../shared/datasets/att-faces') },
    epochs: { type: 'string', default: '40' },
    mining: { type: 'string', default: 'batch-all' },
    margin: { type: 'string', default: '0.2' },
    distance: { type: 'string', default: 'squared' },
    channels: { type: 'string', default: '16,32,64' },
    head: { type: 'string', default: 'flatten' },
    p: { type: 'string', default: '10' },
    k: { type: 'string', default: '5' },
    lr: { type: 'string', default: '0.001' },
    seed: { type: 'string', default: '1' },
    dropout: { type: 'string', default: '0.3' },
    /** The learning rate drops tenfold for the last this share of the epochs (0: constant). */
    'decay-last': { type: 'string', default: '0.25' },
    /** Embed each test image once, not averaged with its mirror image (the engine's flip TTA). */
    'no-tta': { type: 'boolean', default: false },
    /** Downscaling factor of the 92x112 images (2: 46x56). */
    scale: { type: 'string', default: '2' },
    /** Also rotate (up to this many degrees) and scale (up to 1 +- degrees/100) each training image. */
    rotate: { type: 'string', default: '0' },
    'embedding-size': { type: 'string', default: '64' },
    'train-subjects': { type: 'string', default: '30' },
    /** Test on the subjects from this 0-based index on (default: --train-subjects), train on the others: validation folds within s1-s30. */
    'test-offset': { type: 'string' },
    /** Normalisation after each convolution: none or batch. */
    norm: { type: 'string', default: 'none' },
    'convs-per-block': { type: 'string', default: '1' },
    /** Kernel size of the convolutions (odd). */
    kernel: { type: 'string', default: '3' },
    /** Decoupled weight decay (AdamW): after each step the filters and dense kernel shrink by lr x this. */
    'weight-decay': { type: 'string', default: '0' },
    /** Learning-rate schedule: step (a tenth for the last --decay-last share) or cosine (to zero). */
    schedule: { type: 'string', default: 'step' },
    /** Training augmentation: random brightness (+- this, in standard deviations) and contrast (x 1 +- this). */
    jitter: { type: 'string', default: '0' },
    /** Training augmentation: random scaling by 1 +- this (bilinear, with the flip and shift). */
    zoom: { type: 'string', default: '0' },
    /** Training augmentation: with this probability, a random rectangle (2-25% of the image) is erased to noise (random erasing). */
    erase: { type: 'string', default: '0' },
    /** Training augmentation: a random illumination gradient across the face, up to this many standard deviations at the edges. */
    ramp: { type: 'string', default: '0' },
    /** Training augmentation: with this probability, glasses (two rings, a bridge, temples) are drawn over the eyes the engine's landmarks find. */
    glasses: { type: 'string', default: '0' },
    /** Test-time augmentation: also embed each test image shifted by this many pixels (4 directions). */
    'tta-shift': { type: 'string', default: '0' },
    /** Histogram-equalise every image before standardising it. */
    equalize: { type: 'boolean', default: false },
    /** Use only the first N subjects: with --train-subjects 20 --subjects 30, tune on s21-s30 without touching s31-s40. */
    subjects: { type: 'string', default: '40' },
    /** Also print the verification accuracy every N epochs (0: only before and after). */
    'eval-every': { type: 'string', default: '0' },
    /** Train this many CNNs (seeds --seed, --seed + 1000, ...) and verify with the mean of their squared distances. */
    ensemble: { type: 'string', default: '1' },
    /**
     * Normalise position, scale and angle with the engine's detector and landmarks before training
     * and testing (see alignedFrames). Off by default: measured worse on the validation splits.
     */
    align: { type: 'boolean', default: false },
  },
});
const epochs = Number(values.epochs);
const mining = values.mining as MiningStrategy;
if (!MINING_STRATEGIES.includes(mining)) throw new Error(`--mining: one of ${MINING_STRATEGIES.join(', ')}`);
const margin = Number(values.margin);
const seed = Number(values.seed);
const trainSubjects = Number(values['train-subjects']);

const root = values.data;
if (!existsSync(root)) {
  console.log(`skipped: ${root} is absent (demo:triplet needs the AT&T faces, ../shared/datasets/att-faces/sN/M.pgm)`);
  process.exit(0);
}

const ALIGN = values.align === true;
/** 46 x 56 after halving 92 x 112. */
const FACTOR = Number(values.scale);
const WIDTH = Math.floor(92 / FACTOR);
const HEIGHT = Math.floor(112 / FACTOR);
/** Pixels shifted at most, each way, by the training augmentation (3 px at 46x56). */
const SHIFT = Math.max(1, Math.round((6 * WIDTH) / 92));
const ROTATE = Number(values.rotate);
const ZOOM = Number(values.zoom);
const JITTER = Number(values.jitter);
const EQUALIZE = values.equalize === true;
const ERASE = Number(values.erase);
const RAMP = Number(values.ramp);
const GLASSES = Number(values.glasses);
if (GLASSES > 0 && ALIGN) throw new Error('--glasses and --align together are not supported');
/** Eye centres (in the network's input frame) of the prepared images, for --glasses. */
const eyesOf = new Map<Float32Array, [Point, Point]>();

interface Subject {
  name: string;
  images: Float32Array[];
}

interface RawSubject {
  name: string;
  images: { key: string; pgm: GreyImage }[];
}

/** Subjects in numeric order (s1 ... s40), their images as decoded (92x112 grey). */
async function loadSubjects(dir: string): Promise<RawSubject[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && /^s\d+$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  return Promise.all(
    names.map(async (name) => {
      const files = (await readdir(path.join(dir, name))).filter((f) => f.endsWith('.pgm')).sort((a, b) => parseInt(a) - parseInt(b));
      const images = await Promise.all(
        files.map(async (f) => {
          const pgm = parsePgm(await readFile(path.join(dir, name, f)));
          if (pgm.width !== 92 || pgm.height !== 112) throw new Error(`${name}/${f}: expected 92x112`);
          return { key: `${name}/${f}`, pgm: EQUALIZE ? { ...pgm, data: equalizeHistogram(pgm.data) } : pgm };
        }),
      );
      return { name, images };
    }),
  );
}

/**
 * The network's inputs: each image downscaled by --scale (with --align, first moved onto the
 * training images' mean face position, see alignedFrames) and standardised (zero mean, unit variance).
 */
async function prepare(subjects: RawSubject[], training: RawSubject[]): Promise<Subject[]> {
  const trainingImages = training.flatMap((s) => s.images);
  const frames = ALIGN ? await alignedFrames(subjects.flatMap((s) => s.images), new Set(trainingImages.map((i) => i.key))) : undefined;
  const points = GLASSES > 0 ? await fivePoints(trainingImages) : undefined;
  return subjects.map(({ name, images }) => ({
    name,
    images: images.map(({ key, pgm }) => {
      const image = standardise(frames ? frames.get(key)! : downscaleGrey(pgm, FACTOR).data);
      const five = points?.get(key);
      // Eye centres: the midpoints of each eye's two corners (FIVE_POINTS order: left eye, right eye, nose).
      if (five) eyesOf.set(image, [0, 2].map((j) => [(five[j][0] + five[j + 1][0]) / 2 / FACTOR, (five[j][1] + five[j + 1][1]) / 2 / FACTOR]) as [Point, Point]);
      return image;
    }),
  }));
}

/** dlib's five points in the 68-point scheme: eye corners and nose base. */
const FIVE_POINTS = [45, 42, 36, 39, 33];

/** The five points of each image's face (the one nearest the centre), from the engine's detector and landmarks. */
async function fivePoints(images: { key: string; pgm: GreyImage }[]): Promise<Map<string, Point[]>> {
  const engine = await FaceEngine.start({ backend: process.env.FACEPIPE_BACKEND as BackendName | undefined });
  const points = new Map<string, Point[]>();
  try {
    await forEachConcurrent(images, engine.options.threads * 2, async ({ key, pgm }) => {
      const png = await sharp(pgm.data, { raw: { width: pgm.width, height: pgm.height, channels: 1 } }).png().toBuffer();
      const face = centralFace(await engine.detect({ bytes: png, name: key }));
      if (face) points.set(key, FIVE_POINTS.map((i) => face.landmarks[i]));
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
 * --scale. A typical photo barely moves; a close-up or a tilted head is brought to the common
 * scale and angle. An image without a face (the nearest the centre is used when there are
 * several) keeps the identity transform.
 */
async function alignedFrames(images: { key: string; pgm: GreyImage }[], trainingKeys: Set<string>): Promise<Map<string, Float32Array>> {
  const points = await fivePoints(images);
  const trained = [...points].filter(([key]) => trainingKeys.has(key)).map(([, p]) => p);
  const target: Point[] = FIVE_POINTS.map((_, j) => [
    trained.reduce((sum, p) => sum + p[j][0], 0) / trained.length / FACTOR,
    trained.reduce((sum, p) => sum + p[j][1], 0) / trained.length / FACTOR,
  ]);
  console.log(`aligned ${points.size} of ${images.length} images on their landmarks (the others as they are)`);
  const side = Math.max(WIDTH, HEIGHT);
  return new Map(
    images.map(({ key, pgm }) => {
      const from = points.get(key);
      const transform = from ? estimateSimilarity(from, target) : { a: 1 / FACTOR, b: 0, tx: 0, ty: 0 };
      const rgb = new Uint8Array(pgm.data.length * 3);
      pgm.data.forEach((v, i) => rgb.fill(v, 3 * i, 3 * i + 3));
      // warpChip makes a square; the frame is its top-left WIDTH x HEIGHT.
      const chip = warpChip({ data: rgb, width: pgm.width, height: pgm.height }, transform, side);
      const frame = new Float32Array(WIDTH * HEIGHT);
      for (let y = 0; y < HEIGHT; y++) for (let x = 0; x < WIDTH; x++) frame[y * WIDTH + x] = chip[3 * (y * side + x)];
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
  for (const c of counts) cdf.push((sum += c));
  const min = cdf.find((c) => c > 0) ?? 0;
  const span = Math.max(1, data.length - min);
  return data.map((v) => Math.round((255 * (cdf[v] - min)) / span));
}

function standardise(x: Float32Array): Float32Array {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length) || 1;
  return x.map((v) => (v - mean) / std);
}

/**
 * A random horizontal flip and shift of up to SHIFT pixels (zero, the mean, where the image moved
 * away); with --rotate also a random rotation and scaling about the centre (bilinear); --glasses,
 * --jitter, --ramp and --erase add theirs. Each draws from rng only when its flag is set, so a
 * default run's random stream, and its result, stay what they were.
 */
function augment(original: Float32Array, rng: Rng): Float32Array {
  const eyes = eyesOf.get(original);
  const image = eyes && rng.next() < GLASSES ? withGlasses(original, eyes, rng) : original;
  const out = ROTATE > 0 || ZOOM > 0 ? affine(image, rng) : flipShift(image, rng);
  if (JITTER > 0) {
    const contrast = 1 + (2 * rng.next() - 1) * JITTER;
    const brightness = (2 * rng.next() - 1) * JITTER;
    for (let i = 0; i < out.length; i++) out[i] = out[i] * contrast + brightness;
  }
  if (RAMP > 0) {
    // Side lighting: a plane of random direction, +-RAMP at the image's edges.
    const angle = 2 * Math.PI * rng.next();
    const amplitude = rng.next() * RAMP;
    const gx = (Math.cos(angle) * amplitude) / (WIDTH / 2);
    const gy = (Math.sin(angle) * amplitude) / (HEIGHT / 2);
    for (let y = 0; y < HEIGHT; y++) for (let x = 0; x < WIDTH; x++) out[y * WIDTH + x] += gx * (x - WIDTH / 2) + gy * (y - HEIGHT / 2);
  }
  if (ERASE > 0 && rng.next() < ERASE) {
    // Random erasing (Zhong et al. 2017): area 2-25% of the image, aspect 0.3-3.3, filled with noise.
    for (let attempt = 0; attempt < 10; attempt++) {
      const area = (0.02 + 0.23 * rng.next()) * WIDTH * HEIGHT;
      const aspect = Math.exp(Math.log(0.3) + (Math.log(3.3) - Math.log(0.3)) * rng.next());
      const h = Math.round(Math.sqrt(area * aspect));
      const w = Math.round(Math.sqrt(area / aspect));
      if (w >= WIDTH || h >= HEIGHT || w < 1 || h < 1) continue;
      const x0 = rng.int(WIDTH - w + 1);
      const y0 = rng.int(HEIGHT - h + 1);
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) out[y * WIDTH + x] = 2 * rng.next() - 1;
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
function withGlasses(image: Float32Array, [a, b]: [Point, Point], rng: Rng): Float32Array {
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
    [[left[0] + rx, left[1]], [right[0] - rx, right[1]]],
    [[left[0] - rx, left[1]], [left[0] - rx - 0.6 * distance, left[1] - 0.1 * distance]],
    [[right[0] + rx, right[1]], [right[0] + rx + 0.6 * distance, right[1] - 0.1 * distance]],
  ];
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const ring = [left, right].some(([cx, cy]) => {
        const r = Math.hypot((x - cx) / rx, (y - cy) / ry);
        return Math.abs(r - 1) * Math.min(rx, ry) <= thickness / 2;
      });
      if (ring || segments.some(([p, q]) => onSegment(x, y, p, q))) out[y * WIDTH + x] = value;
    }
  }
  return out;
}

function flipShift(image: Float32Array, rng: Rng): Float32Array {
  const flip = rng.next() < 0.5;
  const dx = rng.int(2 * SHIFT + 1) - SHIFT;
  const dy = rng.int(2 * SHIFT + 1) - SHIFT;
  const out = new Float32Array(image.length);
  for (let y = 0; y < HEIGHT; y++) {
    const sy = y + dy;
    if (sy < 0 || sy >= HEIGHT) continue;
    for (let x = 0; x < WIDTH; x++) {
      let sx = x + dx;
      if (sx < 0 || sx >= WIDTH) continue;
      if (flip) sx = WIDTH - 1 - sx;
      out[y * WIDTH + x] = image[sy * WIDTH + sx];
    }
  }
  return out;
}

function affine(image: Float32Array, rng: Rng): Float32Array {
  const flip = rng.next() < 0.5;
  const angle = ((2 * rng.next() - 1) * ROTATE * Math.PI) / 180;
  const scale = 1 + (2 * rng.next() - 1) * (ZOOM > 0 ? ZOOM : ROTATE / 100);
  const dx = (2 * rng.next() - 1) * SHIFT;
  const dy = (2 * rng.next() - 1) * SHIFT;
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  const cx = (WIDTH - 1) / 2;
  const cy = (HEIGHT - 1) / 2;
  const out = new Float32Array(image.length);
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= WIDTH || y >= HEIGHT ? 0 : image[y * WIDTH + x]);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const ox = (flip ? WIDTH - 1 - x : x) - cx - dx;
      const oy = y - cy - dy;
      const sx = cos * ox - sin * oy + cx;
      const sy = sin * ox + cos * oy + cy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      out[y * WIDTH + x] =
        (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
    }
  }
  return out;
}

const backend = await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined);
const { tf } = backend;
const rawSubjects = (await loadSubjects(root)).slice(0, Number(values.subjects));
const testOffset = values['test-offset'] === undefined ? trainSubjects : Number(values['test-offset']);
const testCount = rawSubjects.length - trainSubjects;
const evalEvery = Number(values['eval-every']);
if (rawSubjects.length < trainSubjects + 2) throw new Error(`${root}: ${rawSubjects.length} subjects, need more than ${trainSubjects}`);
const rawTest = rawSubjects.slice(testOffset, testOffset + testCount);
if (rawTest.length !== testCount) throw new Error(`--test-offset ${testOffset}: only ${rawTest.length} of ${testCount} test subjects`);
const subjects = await prepare(rawSubjects, rawSubjects.filter((s) => !rawTest.includes(s)));
const test = subjects.filter((s) => rawTest.some((r) => r.name === s.name));
const train = subjects.filter((s) => !test.includes(s));

const trainImages = train.flatMap((s) => s.images);
const trainLabels = train.flatMap((s) => s.images.map(() => s.name));
const testImages = test.flatMap((s) => s.images);
const testLabels = test.flatMap((s) => s.images.map(() => s.name));

// Every same-person pair of the unseen subjects, and as many different-person pairs at random.
const pairRng = new Rng(12345);
const genuine: [number, number][] = [];
const impostor: [number, number][] = [];
for (let i = 0; i < testImages.length; i++) {
  for (let j = i + 1; j < testImages.length; j++) (testLabels[i] === testLabels[j] ? genuine : impostor).push([i, j]);
}
const pairs = [...genuine.map((p) => ({ p, same: true })), ...pairRng.sample(impostor, genuine.length).map((p) => ({ p, same: false }))];

const embeddingSize = Number(values['embedding-size']);
const values_tta = values['no-tta'] !== true;
const decayLast = Number(values['decay-last']);
const channels = values.channels.split(',').map(Number);
const head = values.head === 'average' ? 'average' : 'flatten';
const norm = values.norm === 'batch' ? 'batch' : 'none';
const convsPerBlock = Number(values['convs-per-block']);
const weightDecay = Number(values['weight-decay']);
const schedule = values.schedule === 'cosine' ? 'cosine' : 'step';
const ttaShift = Number(values['tta-shift']);
const ensemble = Number(values.ensemble);
if (!Number.isInteger(ensemble) || ensemble < 1) throw new Error('--ensemble: an integer >= 1');
/** Each member's seed: far enough apart that no two members share a variable's or dropout's seed. */
const memberSeeds = Array.from({ length: ensemble }, (_, i) => seed + 1000 * i);
const nets = memberSeeds.map(
  (s) => new SmallCnn(tf, { height: HEIGHT, width: WIDTH, channels, convsPerBlock, kernelSize: Number(values.kernel), norm, head, embeddingSize, dropout: Number(values.dropout), seed: s }),
);
const learningRateFactor = (epoch: number, total: number): number =>
  schedule === 'cosine' ? 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / total)) : decayLast > 0 && epoch > total * (1 - decayLast) ? 0.1 : 1;

/**
 * The members' unit embeddings side by side, scaled by 1/sqrt(members): the squared distance is
 * the mean of the members' squared distances, and the vector stays a unit vector.
 */
function embedAll(images: Float32Array[], tta = values_tta, shift = ttaShift, members: readonly SmallCnn[] = nets): Float32Array[] {
  const each = members.map((net) => embedWith(net, images, tta, shift));
  if (each.length === 1) return each[0];
  const scale = 1 / Math.sqrt(each.length);
  return images.map((_, i) => {
    const joined = new Float32Array(each.reduce((n, e) => n + e[i].length, 0));
    let at = 0;
    for (const e of each) {
      joined.set(e[i].map((x) => x * scale), at);
      at += e[i].length;
    }
    return joined;
  });
}

function embedWith(net: SmallCnn, images: Float32Array[], tta: boolean, shift: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let start = 0; start < images.length; start += 50) {
    const chunk = images.slice(start, start + 50);
    const flat = new Float32Array(chunk.length * WIDTH * HEIGHT);
    chunk.forEach((im, i) => flat.set(im, i * WIDTH * HEIGHT));
    const values = tf.tidy(() => {
      const x = tf.tensor4d(flat, [chunk.length, HEIGHT, WIDTH, 1]);
      const e = net.embed(x, false);
      if (!tta) return e.dataSync();
      const views: Tensor4D[] = [x, tf.reverse(x, 2)];
      if (shift > 0) {
        const s = shift;
        const padded = tf.pad(x, [[0, 0], [s, s], [s, s], [0, 0]]);
        for (const [dy, dx] of [[0, s], [2 * s, s], [s, 0], [s, 2 * s]]) views.push(tf.slice(padded, [0, dy, dx, 0], [chunk.length, HEIGHT, WIDTH, 1]));
      }
      const sum = views.map((v) => net.embed(v, false)).reduce((a, b) => tf.add(a, b));
      return tf.div(sum, tf.norm(sum, 2, 1, true)).dataSync();
    });
    const d = values.length / chunk.length;
    for (let i = 0; i < chunk.length; i++) out.push(Float32Array.from(values.subarray(i * d, (i + 1) * d)));
  }
  return out;
}

function meanOf(vectors: Float32Array[]): Float32Array {
  const mean = new Float32Array(vectors[0].length);
  for (const v of vectors) v.forEach((x, k) => (mean[k] += x / vectors.length));
  return mean;
}

function centred(v: Float32Array, mean: Float32Array): Float32Array {
  const d = v.map((x, k) => x - mean[k]);
  const norm = Math.hypot(...d) || 1;
  return d.map((x) => x / norm);
}

function verificationAccuracy(
  tta = values_tta,
  shift = ttaShift,
  centre?: Float32Array,
  members: readonly SmallCnn[] = nets,
): { accuracy: number; std: number; threshold: number; scored: ScoredPair[] } {
  const e = embedAll(testImages, tta, shift, members).map((v) => (centre ? centred(v, centre) : v));
  // Interleave genuine and impostor pairs so that each of the 10 sub-folds holds both.
  const scored: ScoredPair[] = pairs.map(({ p: [i, j], same }) => ({ score: faceDistance(e[i], e[j]), same }));
  const cv = crossValidate([scored]);
  return { accuracy: cv.accuracy, std: cv.std, threshold: cv.threshold, scored };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
console.log(
  `AT&T faces: train on ${train.length} subjects (${trainImages.length} images), verify on ${genuine.length} same + ${genuine.length} different pairs of the other ${test.length}`,
);
console.log(
  `backend ${backend.name}${hasConvFilterGradient(tf) ? '' : ' (convolutions as im2col: no Conv2DBackpropFilter kernel)'}; CNN ${channels.length}x(conv3x3-relu-maxpool) [${channels.join(', ')}], ${head === 'average' ? 'global average pooling' : 'flattened'}, dense ${embeddingSize}, ${WIDTH}x${HEIGHT} input`,
);
const before = verificationAccuracy();
console.log(`before training: accuracy ${pct(before.accuracy)} ± ${pct(before.std)} (threshold ${before.threshold.toFixed(3)})`);

const started = performance.now();
let epochsRun = 0;
for (const [member, net] of nets.entries()) {
  if (nets.length > 1) console.log(`ensemble member ${member + 1} of ${nets.length} (seed ${memberSeeds[member]})`);
  let epochNow = 1;
  const { history } = await trainTriplet(
    tf,
    net,
    {
      labels: trainLabels,
      batch: (indices, rng) => {
        const flat = new Float32Array(indices.length * WIDTH * HEIGHT);
        indices.forEach((i, r) => flat.set(augment(trainImages[i], rng), r * WIDTH * HEIGHT));
        return tf.tensor4d(flat, [indices.length, HEIGHT, WIDTH, 1]);
      },
    },
    {
      margin,
      mining,
      distance: values.distance as TripletDistance,
      epochs,
      p: Number(values.p),
      k: Number(values.k),
      learningRate: Number(values.lr),
      learningRateFactor,
      seed: memberSeeds[member],
      onBatch: () => {
        if (weightDecay <= 0) return;
        const shrink = 1 - Number(values.lr) * learningRateFactor(epochNow, epochs) * weightDecay;
        tf.tidy(() => {
          for (const w of net.weights) w.assign(tf.mul(w, shrink));
        });
      },
      onEpoch: (s) => {
        epochNow = s.epoch + 1;
        const check = evalEvery > 0 && s.epoch % evalEvery === 0 ? `  verification ${pct(verificationAccuracy(values_tta, ttaShift, undefined, [net]).accuracy)}` : '';
        console.log(
          `epoch ${String(s.epoch).padStart(3)}/${epochs}  loss ${s.loss.toFixed(4)}  active ${pct(s.activeShare).padStart(7)} of valid triplets  mined ${s.mined} (${s.minedActive} active)  ${s.seconds.toFixed(1)} s${check}`,
        );
      },
    },
  );
  epochsRun = history.length;
  if (nets.length > 1) console.log(`member ${member + 1}: accuracy ${pct(verificationAccuracy(values_tta, ttaShift, undefined, [net]).accuracy)}`);
}
const seconds = (performance.now() - started) / 1000;
const after = verificationAccuracy();
console.log(`after ${epochsRun} epochs (${seconds.toFixed(0)} s, mining ${mining}, margin ${margin}): accuracy ${pct(after.accuracy)} ± ${pct(after.std)} (threshold ${after.threshold.toFixed(3)})`);
// Where the errors are, at the threshold chosen on all pairs: misses per unseen subject (its
// same-person pairs judged different) and false matches per subject (different pairs judged same).
{
  const count = new Map<string, { same: number; misses: number; falseMatches: number }>(test.map((s) => [s.name, { same: 0, misses: 0, falseMatches: 0 }]));
  pairs.forEach(({ p: [i, j], same }, n) => {
    const match = after.scored[n].score! <= after.threshold;
    if (same) {
      const c = count.get(testLabels[i])!;
      c.same++;
      if (!match) c.misses++;
    } else if (match) {
      for (const k of [i, j]) count.get(testLabels[k])!.falseMatches++;
    }
  });
  console.log(`errors by subject (misses of its same pairs / false matches): ${[...count].map(([name, c]) => `${name} ${c.misses} of ${c.same}/${c.falseMatches}`).join(', ')}`);
}
const variants = Object.fromEntries(
  ([['none', false, 0], ['flip', true, 0], ['flip+shift1', true, 1], ['flip+shift2', true, 2]] as const).map(([name, tta, shift]) => [name, Math.round(verificationAccuracy(tta, shift).accuracy * 1e4) / 1e4]),
);
console.log(`test-time augmentation: ${JSON.stringify(variants)}`);
// The training images' mean embedding subtracted (then renormalised): removes what all faces share.
const trainMean = meanOf(embedAll(trainImages));
console.log(`centred on the training mean: ${pct(verificationAccuracy(values_tta, ttaShift, trainMean).accuracy)}`);
console.log(JSON.stringify({ before: before.accuracy, after: after.accuracy, epochs: epochsRun, ensemble, seconds: Math.round(seconds * 10) / 10, backend: backend.name, mining, margin, test: `${test[0].name}-${test[test.length - 1].name}`, seed }));
