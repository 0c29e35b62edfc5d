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
 * scale and angle with the engine's landmarks), --ensemble N (N nets, mean squared distance),
 * --tan-triggs (illumination normalisation), --zoom-in, --scale-search (least distance over
 * magnifications), --average-from (weights averaged over the last epochs), --morphs N (blended
 * identities added to training), --bottleneck (1x1 convolution before the dense layer),
 * --pretrain <lfw-dev folder> (the LFW people with 2+ photos, cut to the AT&T framing, trained on
 * first; with --joint, together with the AT&T subjects).
 * The photos are read and prepared in demo-triplet/att-faces.ts, augmented in demo-triplet/augmentation.ts.
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
import path from 'node:path';
import { parseArgs } from 'node:util';
import { faceDistance } from '../src/engine/face-distance.js';
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import type { ScoredPair } from '../src/evaluation/types.js';
import { crossValidate } from '../src/evaluation/verification-metrics.js';
import { Rng } from '../src/training/rng.js';
import { SmallCnn, hasConvFilterGradient } from '../src/training/small-cnn.js';
import type { Tensor, Tensor4D } from '../src/training/tf-types.js';
import type { TripletDistance } from '../src/training/triplet-loss.js';
import { trainTriplet, type TripletData } from '../src/training/triplet-trainer.js';
import { MINING_STRATEGIES, type MiningStrategy } from '../src/training/triplet-mining.js';
import { frameSize, loadSubjects, morphedIdentities, prepare } from './demo-triplet/att-faces.js';
import { Augmenter, warp } from './demo-triplet/augmentation.js';
import { loadLfwPeople } from './demo-triplet/lfw-faces.js';

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
    /** Tan & Triggs (2010) illumination normalisation of the photos: gamma 0.2, difference of Gaussians (1, 2 px), contrast equalisation. */
    'tan-triggs': { type: 'boolean', default: false },
    /** Training magnification drawn from [1, 1 + zoom-in] (crops in, never leaves empty borders): the photos mix close-ups and distant shots. */
    'zoom-in': { type: 'string', default: '0' },
    /** Test: a pair's distance is the least over these magnifications of either image (e.g. 1,1.15,1.3). */
    'scale-search': { type: 'string' },
    /** Extra training identities: this many random pairs of training subjects, each image the average of one photo of each (identity morphs). */
    morphs: { type: 'string', default: '0' },
    /** Channels of a 1x1 convolution before the dense layer (0: none). */
    bottleneck: { type: 'string', default: '0' },
    /** Average the weights over the epochs from this one on (stochastic weight averaging, Izmailov et al. 2018); 0: off. */
    'average-from': { type: 'string', default: '0' },
    /** Pretrain each net on the people of this LFW folder (2+ photos each, cut to the AT&T framing) before the AT&T subjects. */
    pretrain: { type: 'string' },
    /** Epochs over the LFW people before the AT&T subjects' --epochs. */
    'pretrain-epochs': { type: 'string', default: '10' },
    /** Adam's learning rate while pretraining (default: --lr). */
    'pretrain-lr': { type: 'string' },
    /** With --pretrain: train on the LFW people and the AT&T subjects together, in one run of --epochs, instead of one after the other. */
    joint: { type: 'boolean', default: false },
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

const align = values.align === true;
const factor = Number(values.scale);
/** 46 x 56 after halving 92 x 112. */
const { width, height } = frameSize(factor);
const scaleSearch = values['scale-search'] ? values['scale-search'].split(',').map(Number) : [];
const averageFrom = Number(values['average-from']);
const glasses = Number(values.glasses);
if (glasses > 0 && align) throw new Error('--glasses and --align together are not supported');
if (values.joint && !values.pretrain) throw new Error('--joint needs --pretrain <lfw folder>');

// Read before the backend starts: the wasm backend's rejection handler would bury a data error in its source.
const pretrainPeople = values.pretrain ? await loadLfwPeople(values.pretrain, factor) : [];
const backend = await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined);
const { tf } = backend;
const rawSubjects = (await loadSubjects(root, { equalize: values.equalize === true })).slice(0, Number(values.subjects));
const testOffset = values['test-offset'] === undefined ? trainSubjects : Number(values['test-offset']);
const testCount = rawSubjects.length - trainSubjects;
const evalEvery = Number(values['eval-every']);
if (rawSubjects.length < trainSubjects + 2) throw new Error(`${root}: ${rawSubjects.length} subjects, need more than ${trainSubjects}`);
const rawTest = rawSubjects.slice(testOffset, testOffset + testCount);
if (rawTest.length !== testCount) throw new Error(`--test-offset ${testOffset}: only ${rawTest.length} of ${testCount} test subjects`);
const { subjects, eyes } = await prepare(
  rawSubjects,
  rawSubjects.filter((s) => !rawTest.includes(s)),
  { factor, align, tanTriggs: values['tan-triggs'] === true, findEyes: glasses > 0 },
);
const augmenter = new Augmenter(
  {
    width,
    height,
    // 3 px at 46x56.
    shift: Math.max(1, Math.round((6 * width) / 92)),
    rotate: Number(values.rotate),
    zoom: Number(values.zoom),
    zoomIn: Number(values['zoom-in']),
    jitter: Number(values.jitter),
    ramp: Number(values.ramp),
    erase: Number(values.erase),
    glasses,
  },
  eyes,
);
const test = subjects.filter((s) => rawTest.some((r) => r.name === s.name));
const train = subjects.filter((s) => !test.includes(s));

const trainImages = train.flatMap((s) => s.images);
const trainLabels = train.flatMap((s) => s.images.map(() => s.name));
for (const morph of morphedIdentities(train, Number(values.morphs), new Rng(seed + 777))) {
  trainImages.push(...morph.images);
  trainLabels.push(...morph.images.map(() => morph.name));
}
if (Number(values.morphs) > 0) console.log(`${values.morphs} morphed identities added to the training set`);

const pretrainImages = pretrainPeople.flatMap((s) => s.images);
const pretrainLabels = pretrainPeople.flatMap((s) => s.images.map(() => s.name));
if (values.pretrain) console.log(`${values.joint ? 'training together with' : 'pretraining on'} ${pretrainPeople.length} LFW people (${pretrainImages.length} images) from ${values.pretrain}`);
if (values.joint) {
  trainImages.push(...pretrainImages);
  trainLabels.push(...pretrainLabels);
}
/** A pretraining stage before the AT&T subjects (--pretrain without --joint). */
const pretrainFirst = pretrainPeople.length > 0 && values.joint !== true;

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
/** Each test image's embedding averaged with its mirror image's (--no-tta: not). */
const mirrorAtTest = values['no-tta'] !== true;
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
  (s) => new SmallCnn(tf, { height, width, channels, convsPerBlock, kernelSize: Number(values.kernel), norm, head, embeddingSize, bottleneck: Number(values.bottleneck) || undefined, dropout: Number(values.dropout), seed: s }),
);
const learningRateFactor = (epoch: number, total: number): number =>
  schedule === 'cosine' ? 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / total)) : decayLast > 0 && epoch > total * (1 - decayLast) ? 0.1 : 1;

/**
 * The members' unit embeddings side by side, scaled by 1/sqrt(members): the squared distance is
 * the mean of the members' squared distances, and the vector stays a unit vector.
 */
function embedAll(images: Float32Array[], tta = mirrorAtTest, shift = ttaShift, members: readonly SmallCnn[] = nets): Float32Array[] {
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
    const flat = new Float32Array(chunk.length * width * height);
    chunk.forEach((im, i) => flat.set(im, i * width * height));
    const values = tf.tidy(() => {
      const x = tf.tensor4d(flat, [chunk.length, height, width, 1]);
      const e = net.embed(x, false);
      if (!tta) return e.dataSync();
      const views: Tensor4D[] = [x, tf.reverse(x, 2)];
      if (shift > 0) {
        const s = shift;
        const padded = tf.pad(x, [[0, 0], [s, s], [s, s], [0, 0]]);
        for (const [dy, dx] of [[0, s], [2 * s, s], [s, 0], [s, 2 * s]]) views.push(tf.slice(padded, [0, dy, dx, 0], [chunk.length, height, width, 1]));
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
  tta = mirrorAtTest,
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

/** The trainer's batch callback over these images: each one augmented, stacked into a tensor. */
function augmentedBatch(images: readonly Float32Array[]): TripletData['batch'] {
  return (indices, rng) => {
    const flat = new Float32Array(indices.length * width * height);
    indices.forEach((i, r) => flat.set(augmenter.augment(images[i], rng), r * width * height));
    return tf.tensor4d(flat, [indices.length, height, width, 1]);
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
console.log(
  `AT&T faces: train on ${train.length} subjects (${trainImages.length} images), verify on ${genuine.length} same + ${genuine.length} different pairs of the other ${test.length}`,
);
console.log(
  `backend ${backend.name}${hasConvFilterGradient(tf) ? '' : ' (convolutions as im2col: no Conv2DBackpropFilter kernel)'}; CNN ${channels.length}x(conv3x3-relu-maxpool) [${channels.join(', ')}], ${head === 'average' ? 'global average pooling' : 'flattened'}, dense ${embeddingSize}, ${width}x${height} input`,
);
const before = verificationAccuracy();
console.log(`before training: accuracy ${pct(before.accuracy)} ± ${pct(before.std)} (threshold ${before.threshold.toFixed(3)})`);

/** What the pretraining stage and the AT&T training share. */
const tripletOptions = { margin, mining, distance: values.distance as TripletDistance, p: Number(values.p), k: Number(values.k), learningRateFactor };
const started = performance.now();
let epochsRun = 0;
for (const [member, net] of nets.entries()) {
  if (nets.length > 1) console.log(`ensemble member ${member + 1} of ${nets.length} (seed ${memberSeeds[member]})`);
  if (pretrainFirst) {
    const pretrainEpochs = Number(values['pretrain-epochs']);
    await trainTriplet(
      tf,
      net,
      { labels: pretrainLabels, batch: augmentedBatch(pretrainImages) },
      {
        ...tripletOptions,
        epochs: pretrainEpochs,
        learningRate: Number(values['pretrain-lr'] ?? values.lr),
        seed: memberSeeds[member] + 500,
        onEpoch: (s) =>
          console.log(
            `pretrain epoch ${String(s.epoch).padStart(3)}/${pretrainEpochs}  loss ${s.loss.toFixed(4)}  active ${pct(s.activeShare).padStart(7)}  ${s.seconds.toFixed(1)} s  verification ${pct(verificationAccuracy(mirrorAtTest, ttaShift, undefined, [net]).accuracy)}`,
          ),
      },
    );
  }
  let epochNow = 1;
  // --average-from: the running mean of the variables at the end of each epoch from that one on.
  let averaged: Tensor[] = [];
  let averagedEpochs = 0;
  const { history } = await trainTriplet(
    tf,
    net,
    { labels: trainLabels, batch: augmentedBatch(trainImages) },
    {
      ...tripletOptions,
      epochs,
      learningRate: Number(values.lr),
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
        if (averageFrom > 0 && s.epoch >= averageFrom) {
          averagedEpochs++;
          const previous = averaged;
          averaged = net.variables.map((v, i) =>
            tf.keep(tf.tidy(() => (previous.length === 0 ? tf.clone(v) : tf.add(previous[i], tf.div(tf.sub(v, previous[i]), averagedEpochs))))),
          );
          for (const t of previous) t.dispose();
        }
        const check = evalEvery > 0 && s.epoch % evalEvery === 0 ? `  verification ${pct(verificationAccuracy(mirrorAtTest, ttaShift, undefined, [net]).accuracy)}` : '';
        console.log(
          `epoch ${String(s.epoch).padStart(3)}/${epochs}  loss ${s.loss.toFixed(4)}  active ${pct(s.activeShare).padStart(7)} of valid triplets  mined ${s.mined} (${s.minedActive} active)  ${s.seconds.toFixed(1)} s${check}`,
        );
      },
    },
  );
  epochsRun = history.length;
  if (averaged.length > 0) {
    console.log(`last epoch's weights: accuracy ${pct(verificationAccuracy(mirrorAtTest, ttaShift, undefined, [net]).accuracy)}; averaged over ${averagedEpochs} epochs:`);
    net.variables.forEach((v, i) => v.assign(averaged[i]));
    for (const t of averaged) t.dispose();
  }
  if (nets.length > 1) console.log(`member ${member + 1}: accuracy ${pct(verificationAccuracy(mirrorAtTest, ttaShift, undefined, [net]).accuracy)}`);
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
console.log(`centred on the training mean: ${pct(verificationAccuracy(mirrorAtTest, ttaShift, trainMean).accuracy)}`);
if (scaleSearch.length > 0) {
  // Each test image embedded at every magnification; a pair is as close as its closest views, one image kept at 1.
  const views = scaleSearch.map((scale) => embedAll(scale === 1 ? testImages : testImages.map((im) => warp(im, width, height, { flip: false, angle: 0, scale, dx: 0, dy: 0 }))));
  const plain = views[scaleSearch.indexOf(1)] ?? embedAll(testImages);
  const scored: ScoredPair[] = pairs.map(({ p: [i, j], same }) => ({
    score: Math.min(...views.flatMap((v) => [faceDistance(v[i], plain[j]), faceDistance(plain[i], v[j])])),
    same,
  }));
  const cv = crossValidate([scored]);
  console.log(`scale search over ${scaleSearch.join(', ')}: accuracy ${pct(cv.accuracy)} ± ${pct(cv.std)}`);
}
console.log(JSON.stringify({ before: before.accuracy, after: after.accuracy, epochs: epochsRun, ensemble, seconds: Math.round(seconds * 10) / 10, backend: backend.name, mining, margin, test: `${test[0].name}-${test[test.length - 1].name}`, seed }));
