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
 * Other flags (bench/demo-triplet/demo-options.ts, each with what it does) are the experiments of
 * docs/training.md's tables, kept so that every row can be run again.
 * The photos are read and prepared in demo-triplet/att-faces.ts (the LFW people of --pretrain in
 * lfw-faces.ts), augmented in augmentation.ts, and verified in pair-verification.ts.
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
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import { Rng } from '../src/training/rng.js';
import { SmallCnn, hasConvFilterGradient } from './demo-triplet/small-cnn.js';
import type { Tensor } from '../src/training/tf-types.js';
import { trainTriplet, type TripletData } from '../src/training/triplet-trainer.js';
import { optionsOrExit } from './bench-options.js';
import { frameSize, loadSubjects, morphedIdentities, prepare } from './demo-triplet/att-faces.js';
import { Augmenter } from './demo-triplet/augmentation.js';
import { demoOptions } from './demo-triplet/demo-options.js';
import { loadLfwPeople } from './demo-triplet/lfw-faces.js';
import { PairVerification, meanOf, type EmbedOptions } from './demo-triplet/pair-verification.js';

const options = optionsOrExit('demo:triplet', demoOptions);
const { epochs, mining, margin, seed, lr } = options;
const trainSubjects = options['train-subjects'];

const root = options.data;
if (!existsSync(root)) {
  console.log(`skipped: ${root} is absent (demo:triplet needs the AT&T faces, ../shared/datasets/att-faces/sN/M.pgm)`);
  process.exit(0);
}

const factor = options.scale;
/** 46 x 56 after halving 92 x 112. */
const { width, height } = frameSize(factor);

// Read before the backend starts: the wasm backend's rejection handler would bury a data error in its source.
const pretrainPeople = options.pretrain ? await loadLfwPeople(options.pretrain, factor) : [];
const backend = await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined);
const { tf } = backend;
const rawSubjects = (await loadSubjects(root, { equalize: options.equalize })).slice(0, options.subjects);
const testOffset = options['test-offset'] ?? trainSubjects;
const testCount = rawSubjects.length - trainSubjects;
if (rawSubjects.length < trainSubjects + 2)
  throw new Error(`${root}: ${rawSubjects.length} subjects, need more than ${trainSubjects}`);
const rawTest = rawSubjects.slice(testOffset, testOffset + testCount);
if (rawTest.length !== testCount)
  throw new Error(`--test-offset ${testOffset}: only ${rawTest.length} of ${testCount} test subjects`);
const { subjects, eyes } = await prepare(
  rawSubjects,
  rawSubjects.filter((s) => !rawTest.includes(s)),
  { factor, align: options.align, tanTriggs: options['tan-triggs'], findEyes: options.glasses > 0 },
);
const augmenter = new Augmenter(
  {
    width,
    height,
    // 3 px at 46x56.
    shift: Math.max(1, Math.round((6 * width) / 92)),
    rotate: options.rotate,
    zoom: options.zoom,
    zoomIn: options['zoom-in'],
    jitter: options.jitter,
    ramp: options.ramp,
    erase: options.erase,
    glasses: options.glasses,
  },
  eyes,
);
const test = subjects.filter((s) => rawTest.some((r) => r.name === s.name));
const train = subjects.filter((s) => !test.includes(s));

const trainImages = train.flatMap((s) => s.images);
const trainLabels = train.flatMap((s) => s.images.map(() => s.name));
for (const morph of morphedIdentities(train, options.morphs, new Rng(seed + 777))) {
  trainImages.push(...morph.images);
  trainLabels.push(...morph.images.map(() => morph.name));
}
if (options.morphs > 0) console.log(`${options.morphs} morphed identities added to the training set`);

const pretrainImages = pretrainPeople.flatMap((s) => s.images);
const pretrainLabels = pretrainPeople.flatMap((s) => s.images.map(() => s.name));
if (options.pretrain)
  console.log(
    `${options.joint ? 'training together with' : 'pretraining on'} ${pretrainPeople.length} LFW people (${pretrainImages.length} images) from ${options.pretrain}`,
  );
if (options.joint) {
  trainImages.push(...pretrainImages);
  trainLabels.push(...pretrainLabels);
}
/** A pretraining stage before the AT&T subjects (--pretrain without --joint). */
const pretrainFirst = pretrainPeople.length > 0 && !options.joint;

const verification = new PairVerification(
  tf,
  { width, height },
  test.flatMap((s) => s.images),
  test.flatMap((s) => s.images.map(() => s.name)),
);
/** The configured test-time augmentation: the mirror image (unless --no-tta), shifts with --tta-shift. */
const embedding: EmbedOptions = { mirror: !options['no-tta'], shift: options['tta-shift'] };

const { channels, head, norm } = options;
const embeddingSize = options['embedding-size'];
const decayLast = options['decay-last'];
const weightDecay = options['weight-decay'];
/** Each member's seed: far enough apart that no two members share a variable's or dropout's seed. */
const memberSeeds = Array.from({ length: options.ensemble }, (_, i) => seed + 1000 * i);
const nets = memberSeeds.map(
  (s) =>
    new SmallCnn(tf, {
      height,
      width,
      channels,
      convsPerBlock: options['convs-per-block'],
      kernelSize: options.kernel,
      norm,
      head,
      embeddingSize,
      bottleneck: options.bottleneck || undefined,
      dropout: options.dropout,
      seed: s,
    }),
);
const learningRateFactor = (epoch: number, total: number): number =>
  options.schedule === 'cosine'
    ? 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / total))
    : decayLast > 0 && epoch > total * (1 - decayLast)
      ? 0.1
      : 1;

/** The trainer's batch callback over these images: each one augmented, stacked into a tensor. */
function augmentedBatch(images: readonly Float32Array[]): TripletData['batch'] {
  return (indices, rng) => {
    const flat = new Float32Array(indices.length * width * height);
    indices.forEach((i, r) => {
      flat.set(augmenter.augment(images[i], rng), r * width * height);
    });
    return tf.tensor4d(flat, [indices.length, height, width, 1]);
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
/** One net's accuracy with the configured embedding, for the per-epoch printouts. */
const accuracyOf = (net: SmallCnn) => pct(verification.accuracy([net], embedding).accuracy);
console.log(
  `AT&T faces: train on ${train.length} subjects (${trainImages.length} images), verify on ${verification.sameCount} same + ${verification.sameCount} different pairs of the other ${test.length}`,
);
console.log(
  `backend ${backend.name}${hasConvFilterGradient(tf) ? '' : ' (convolutions as im2col: no Conv2DBackpropFilter kernel)'}; CNN ${channels.length}x(conv3x3-relu-maxpool) [${channels.join(', ')}], ${head === 'average' ? 'global average pooling' : 'flattened'}, dense ${embeddingSize}, ${width}x${height} input`,
);
const before = verification.accuracy(nets, embedding);
console.log(
  `before training: accuracy ${pct(before.accuracy)} ± ${pct(before.std)} (threshold ${before.threshold.toFixed(3)})`,
);

/** What the pretraining stage and the AT&T training share. */
const tripletOptions = { margin, mining, distance: options.distance, p: options.p, k: options.k, learningRateFactor };
const started = performance.now();
let epochsRun = 0;
for (const [member, net] of nets.entries()) {
  if (nets.length > 1) console.log(`ensemble member ${member + 1} of ${nets.length} (seed ${memberSeeds[member]})`);
  if (pretrainFirst) {
    const pretrainEpochs = options['pretrain-epochs'];
    await trainTriplet(
      tf,
      net,
      { labels: pretrainLabels, batch: augmentedBatch(pretrainImages) },
      {
        ...tripletOptions,
        epochs: pretrainEpochs,
        learningRate: options['pretrain-lr'] ?? lr,
        seed: memberSeeds[member] + 500,
        onEpoch: (s) =>
          console.log(
            `pretrain epoch ${String(s.epoch).padStart(3)}/${pretrainEpochs}  loss ${s.loss.toFixed(4)}  active ${pct(s.activeShare).padStart(7)}  ${s.seconds.toFixed(1)} s  verification ${accuracyOf(net)}`,
          ),
      },
    );
  }
  let epochNow = 1;
  // --average-from: the running mean of the variables at the end of each epoch from that one on.
  const averageFrom = options['average-from'];
  let averaged: Tensor[] = [];
  let averagedEpochs = 0;
  const { history } = await trainTriplet(
    tf,
    net,
    { labels: trainLabels, batch: augmentedBatch(trainImages) },
    {
      ...tripletOptions,
      epochs,
      learningRate: lr,
      seed: memberSeeds[member],
      onBatch: () => {
        if (weightDecay <= 0) return;
        const shrink = 1 - lr * learningRateFactor(epochNow, epochs) * weightDecay;
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
            tf.keep(
              tf.tidy(() =>
                previous.length === 0
                  ? tf.clone(v)
                  : tf.add(previous[i], tf.div(tf.sub(v, previous[i]), averagedEpochs)),
              ),
            ),
          );
          for (const t of previous) t.dispose();
        }
        const check =
          options['eval-every'] > 0 && s.epoch % options['eval-every'] === 0 ? `  verification ${accuracyOf(net)}` : '';
        console.log(
          `epoch ${String(s.epoch).padStart(3)}/${epochs}  loss ${s.loss.toFixed(4)}  active ${pct(s.activeShare).padStart(7)} of valid triplets  mined ${s.mined} (${s.minedActive} active)  ${s.seconds.toFixed(1)} s${check}`,
        );
      },
    },
  );
  epochsRun = history.length;
  if (averaged.length > 0) {
    console.log(`last epoch's weights: accuracy ${accuracyOf(net)}; averaged over ${averagedEpochs} epochs:`);
    net.variables.forEach((v, i) => {
      v.assign(averaged[i]);
    });
    for (const t of averaged) t.dispose();
  }
  if (nets.length > 1) console.log(`member ${member + 1}: accuracy ${accuracyOf(net)}`);
}
const seconds = (performance.now() - started) / 1000;
const after = verification.accuracy(nets, embedding);
console.log(
  `after ${epochsRun} epochs (${seconds.toFixed(0)} s, mining ${mining}, margin ${margin}): accuracy ${pct(after.accuracy)} ± ${pct(after.std)} (threshold ${after.threshold.toFixed(3)})`,
);
const errors = verification.errorsBySubject(after);
console.log(
  `errors by subject (misses of its same pairs / false matches): ${[...errors].map(([name, c]) => `${name} ${c.misses} of ${c.same}/${c.falseMatches}`).join(', ')}`,
);
// For information: the same nets under other test-time augmentations.
const variants = Object.fromEntries(
  (
    [
      ['none', false, 0],
      ['flip', true, 0],
      ['flip+shift1', true, 1],
      ['flip+shift2', true, 2],
    ] as const
  ).map(([name, mirror, shift]) => [
    name,
    Math.round(verification.accuracy(nets, { mirror, shift }).accuracy * 1e4) / 1e4,
  ]),
);
console.log(`test-time augmentation: ${JSON.stringify(variants)}`);
// The training images' mean embedding subtracted (then renormalised): removes what all faces share.
const trainMean = meanOf(verification.embed(nets, trainImages, embedding));
console.log(`centred on the training mean: ${pct(verification.accuracy(nets, embedding, trainMean).accuracy)}`);
if (options['scale-search']) {
  const scales = options['scale-search'];
  const searched = verification.scaleSearchAccuracy(nets, embedding, scales);
  console.log(`scale search over ${scales.join(', ')}: accuracy ${pct(searched.accuracy)} ± ${pct(searched.std)}`);
}
console.log(
  JSON.stringify({
    before: before.accuracy,
    after: after.accuracy,
    epochs: epochsRun,
    ensemble: options.ensemble,
    seconds: Math.round(seconds * 10) / 10,
    backend: backend.name,
    mining,
    margin,
    test: `${test[0].name}-${test[test.length - 1].name}`,
    seed,
  }),
);
