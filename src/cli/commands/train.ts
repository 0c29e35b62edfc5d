import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadEngineConfig } from '../../config/engine-config.js';
import type { EngineOptions } from '../../engine/engine-types.js';
import { faceDistance } from '../../engine/face-distance.js';
import { FACE_MODEL } from '../../engine/face-model.js';
import { selectBackend } from '../../engine/tf-backend.js';
import { EmbeddingAdapter } from '../../training/embedding-adapter.js';
import { calibrateIdentification, pairVerification, splitByNamedPeople, splitByPerson } from '../../training/held-out.js';
import { labelledEmbeddings, type LabelledEmbeddings } from '../../training/labelled-embeddings.js';
import { PairClassifier } from '../../training/pair-classifier.js';
import { Rng } from '../../training/rng.js';
import { TRIPLET_DISTANCES, type TripletDistance } from '../../training/triplet-loss.js';
import { MINING_STRATEGIES, type MiningStrategy } from '../../training/triplet-mining.js';
import { trainTriplet, type EpochStats } from '../../training/triplet-trainer.js';
import { intArg, numberArg } from '../arg-parsers.js';
import { inFlight, withEngine } from '../engine-session.js';
import { EXIT, printJson, printLine } from '../output.js';
import { progressBar, type Progress } from '../progress-bar.js';

interface CommonOptions {
  data: string;
  out: string;
  epochs: number;
  lr: number;
  seed: number;
  heldOut: number;
  heldOutPeople?: string;
  json?: boolean;
}

interface TripletOptions extends CommonOptions {
  margin: number;
  mining: MiningStrategy;
  distance: TripletDistance;
  resume?: boolean;
  p: number;
  k: number;
  hidden: number;
  outputSize?: number;
}

interface PairOptions extends CommonOptions {
  l2: number;
  batchSize: number;
}

const choice =
  <T extends string>(allowed: readonly T[]) =>
  (value: string): T => {
    if (!allowed.includes(value as T)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}.`);
    return value as T;
  };

const fraction = (value: string): number => {
  const n = numberArg(0)(value);
  if (n >= 1) throw new InvalidArgumentError('expected a fraction in [0, 1).');
  return n;
};

/** What both trainers take: the labelled folder, and which people are kept out to measure `what`. */
function withTrainingData(command: Command, what: string): Command {
  return command
    .requiredOption('--data <folder>', 'labelled faces: <folder>/<personId>/<image> (embeddings computed once, cached in --out)')
    .option('--held-out <fraction>', `share of the people kept out of training to measure verification with and without the ${what}`, fraction, 0.1)
    .option('--held-out-people <file>', 'hold out exactly these people (one person id per line) instead of a random --held-out share');
}

export function registerTrain(program: Command): void {
  const train = program.command('train').description("adapt the similarity to your own labelled faces: a triplet-loss adapter, or a pair classifier");

  withTrainingData(
    train.command('triplet').description('train an embedding adapter (a learnt residual correction of the frozen embeddings, L2-normalised) with the triplet loss'),
    'adapter (and calibrate its threshold)',
  )
    .requiredOption('--out <dir>', 'the adapter (model.json, weights.bin), training.json, checkpoint/ and the embedding cache')
    .option('--epochs <n>', 'epochs in all (a resumed run continues up to this)', intArg(1), 30)
    .option('--margin <alpha>', 'alpha in max(d(A,P) - d(A,N) + alpha, 0)', numberArg(0), 0.2)
    .option('--mining <strategy>', `triplets per batch: ${MINING_STRATEGIES.join(' | ')}`, choice(MINING_STRATEGIES), 'semi-hard' as MiningStrategy)
    .option('--distance <d>', `distance inside the loss: ${TRIPLET_DISTANCES.join(' | ')} (FaceNet: squared)`, choice(TRIPLET_DISTANCES), 'squared' as TripletDistance)
    .option('--resume', 'continue from <out>/checkpoint/')
    .option('--p <n>', 'people per batch', intArg(2), 32)
    .option('--k <n>', 'images per person per batch', intArg(2), 4)
    .option('--hidden <n>', 'units of the hidden ReLU layer (0: one linear layer)', intArg(0), 512)
    .option('--output-size <n>', 'project to this many dimensions (a plain dense adapter); by default the adapter is residual: the embedding plus a learnt correction starting at zero, same size', intArg(1))
    .option('--lr <rate>', 'Adam learning rate', numberArg(0), 0.001)
    .option('--seed <n>', 'seed of the initialisation, batches and held-out split', intArg(0), 1)
    .option('--json', 'print one JSON object as the last line: {epochs, loss, activeShare, heldOut: {plain, adapted}, ...}')
    .action(async (opts: TripletOptions, command: Command) => {
      if (loadEngineConfig(command.optsWithGlobals()).adapter !== undefined) throw new Error('train triplet: an adapter is trained on the plain embeddings; drop --adapter / FACEPIPE_ADAPTER');
      const { data, tf, split } = await prepareTraining(opts, command);
      const trainLabels = split.train.map((i) => data.labels[i]);
      const trainVectors = split.train.map((i) => data.vectors[i]);

      const adapter = EmbeddingAdapter.create(
        tf,
        // Residual unless asked to project: on LFW it lost less on unseen people (docs/training.md).
        { inputSize: data.dim, hiddenSize: opts.hidden, outputSize: opts.outputSize ?? data.dim, residual: opts.outputSize === undefined, seed: opts.seed },
        { baseModel: data.model },
      );
      let bar: Progress | undefined;
      const log = (line: string) => (opts.json ? process.stderr.write(`${line}\n`) : printLine(line));
      const started = performance.now();
      const result = await trainTriplet(
        tf,
        adapter,
        {
          labels: trainLabels,
          batch: (indices) => {
            const flat = new Float32Array(indices.length * data.dim);
            indices.forEach((i, r) => flat.set(trainVectors[i], r * data.dim));
            return tf.tensor2d(flat, [indices.length, data.dim]);
          },
        },
        {
          margin: opts.margin,
          mining: opts.mining,
          distance: opts.distance,
          epochs: opts.epochs,
          p: opts.p,
          k: opts.k,
          learningRate: opts.lr,
          seed: opts.seed,
          checkpointDir: opts.out,
          resume: opts.resume,
          onResume: (epoch) => log(`resumed from the checkpoint of epoch ${epoch}`),
          onBatch: (done, total) => {
            bar ??= progressBar('train', { unit: 'batches' });
            bar.update(done, total);
          },
          onEpoch: (s: EpochStats) => {
            bar?.stop();
            bar = undefined;
            log(`epoch ${s.epoch}/${opts.epochs}  loss ${s.loss.toFixed(4)}  active ${(100 * s.activeShare).toFixed(1)}% of valid triplets  mined ${s.mined} (${s.minedActive} active)  ${s.seconds.toFixed(1)} s`);
          },
        },
      );
      const seconds = (performance.now() - started) / 1000;
      const training = {
        data: path.resolve(opts.data),
        margin: opts.margin,
        mining: opts.mining,
        distance: opts.distance,
        epochs: opts.epochs,
        p: opts.p,
        k: opts.k,
        hidden: opts.hidden,
        residual: opts.outputSize === undefined,
        learningRate: opts.lr,
        seed: opts.seed,
        people: new Set(trainLabels).size,
        images: trainLabels.length,
        heldOutPeople: new Set(split.heldOut.map((i) => data.labels[i])).size,
      };
      // The verification threshold of the adapted embeddings: cross-validated on the held-out people
      // (on the training people when none are held out, which flatters it).
      const calibration = split.heldOut.length > 0 ? split.heldOut : split.train;
      const vectors = calibration.map((i) => data.vectors[i]);
      const labels = calibration.map((i) => data.labels[i]);
      const adapted = adapter.adapt(vectors);
      // The same pairs (same seed) scored both ways.
      const plain = pairVerification(labels, new Rng(opts.seed + 1), (pairs) => pairs.map((p) => faceDistance(vectors[p.i], vectors[p.j])));
      const after = pairVerification(labels, new Rng(opts.seed + 1), (pairs) => pairs.map((p) => faceDistance(adapted[p.i], adapted[p.j])));
      const heldOut = split.heldOut.length > 0 ? { plain: plain.cv.accuracy, adapted: after.cv.accuracy, pairs: plain.pairs.length } : undefined;
      const verificationThreshold = after.cv.threshold;
      const identification = calibrateIdentification(calibration.map((i) => ({ personId: data.labels[i], key: data.keys[i] })), adapted, FACE_MODEL.identification.marginWeight);
      await adapter.save(opts.out, { training, verificationThreshold, ...(identification ? { identificationThreshold: identification.threshold } : {}) });

      const last = result.history[result.history.length - 1];
      await writeTrainingReport(opts.out, { training, trainedPeople: trainLabels, history: result.history, heldOut, verificationThreshold, identification, seconds });
      adapter.dispose();

      const summary = {
        out: opts.out,
        epochs: result.history.length,
        loss: last?.loss,
        activeShare: last?.activeShare,
        images: data.vectors.length,
        people: new Set(data.labels).size,
        skipped: data.skipped.length,
        cached: data.cached,
        heldOut,
        seconds,
      };
      if (opts.json) printJson(summary);
      else {
        printLine(`adapter -> ${opts.out} (${summary.images} images of ${summary.people} people, ${summary.skipped} without a face, ${data.cached} embeddings from the cache)`);
        if (heldOut) printLine(`held-out verification (${heldOut.pairs} pairs of ${training.heldOutPeople} unseen people): plain ${pct(heldOut.plain)}, adapted ${pct(heldOut.adapted)}`);
      }
      process.exitCode = EXIT.ok;
    });

  withTrainingData(
    train.command('pair-classifier').description('train a logistic pair classifier on (|f1 - f2|, f1 * f2) of the embeddings: P(same person)'),
    'classifier',
  )
    .requiredOption('--out <dir>', 'the classifier (model.json, weights.bin), training.json and the embedding cache')
    .option('--epochs <n>', 'passes over the balanced pairs', intArg(1), 20)
    .option('--lr <rate>', 'Adam learning rate', numberArg(0), 0.01)
    .option('--l2 <weight>', 'L2 penalty on the weights (0.01: the best of 1e-4, 0.01, 0.1 on unseen LFW people)', numberArg(0), 0.01)
    .option('--batch-size <n>', 'pairs per step', intArg(1), 256)
    .option('--seed <n>', 'seed of the pair sampling and held-out split', intArg(0), 1)
    .option('--json', 'print one JSON object as the last line: {pairs, heldOut: {plain, classifier}, ...}')
    .action(async (opts: PairOptions, command: Command) => {
      const { data, tf, rng, split } = await prepareTraining(opts, command);
      const log = (line: string) => (opts.json ? process.stderr.write(`${line}\n`) : printLine(line));
      const started = performance.now();
      const classifier = await PairClassifier.train(
        tf,
        split.train.map((i) => data.vectors[i]),
        split.train.map((i) => data.labels[i]),
        {
          epochs: opts.epochs,
          learningRate: opts.lr,
          batchSize: opts.batchSize,
          l2: opts.l2,
          rng,
          onEpoch: (epoch, logs) => log(`epoch ${epoch}/${opts.epochs}  loss ${logs.loss.toFixed(4)}  accuracy ${pct(logs.accuracy)}`),
        },
        { baseModel: data.model },
      );
      const seconds = (performance.now() - started) / 1000;
      const training = { data: path.resolve(opts.data), epochs: opts.epochs, learningRate: opts.lr, l2: opts.l2, seed: opts.seed, images: split.train.length };
      await classifier.save(opts.out, { training });

      let heldOut: { plain: number; classifier: number; classifierAtHalf: number; pairs: number } | undefined;
      if (split.heldOut.length > 0) {
        const vectors = split.heldOut.map((i) => data.vectors[i]);
        const labels = split.heldOut.map((i) => data.labels[i]);
        const plain = pairVerification(labels, new Rng(opts.seed + 1), (pairs) => pairs.map((p) => faceDistance(vectors[p.i], vectors[p.j])));
        const learnt = pairVerification(labels, new Rng(opts.seed + 1), (pairs) => classifier.probabilities(pairs.map((p) => [vectors[p.i], vectors[p.j]] as const)).map((x) => 1 - x));
        // The classifier's own decision, P(same) > 0.5, on the same pairs.
        const atHalf = learnt.pairs.filter((p, k) => learnt.scores[k] < 0.5 === p.same).length / learnt.pairs.length;
        heldOut = { plain: plain.cv.accuracy, classifier: learnt.cv.accuracy, classifierAtHalf: atHalf, pairs: plain.pairs.length };
      }
      await writeTrainingReport(opts.out, { training, trainedPeople: split.train.map((i) => data.labels[i]), heldOut, seconds });
      classifier.dispose();
      const summary = { out: opts.out, images: data.vectors.length, people: new Set(data.labels).size, skipped: data.skipped.length, cached: data.cached, heldOut, seconds };
      if (opts.json) printJson(summary);
      else {
        printLine(`pair classifier -> ${opts.out} (${summary.images} images of ${summary.people} people, ${summary.skipped} without a face)`);
        if (heldOut) printLine(`held-out verification (${heldOut.pairs} pairs of unseen people): plain distance ${pct(heldOut.plain)}, classifier ${pct(heldOut.classifier)} (${pct(heldOut.classifierAtHalf)} at P(same) > 0.5)`);
      }
      process.exitCode = EXIT.ok;
    });
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** The labelled folder's embeddings, from the cache in --out where it has them, from the engine otherwise. */
/** What both trainers start from: the cached embeddings, tfjs, the seeded RNG, and the held-out people. */
async function prepareTraining(opts: CommonOptions, command: Command) {
  const engineOptions = loadEngineConfig(command.optsWithGlobals());
  const heldOutPeople = opts.heldOutPeople === undefined ? undefined : await readPeopleFile(opts.heldOutPeople);
  const data = await embedData(engineOptions, opts);
  const { tf } = await selectBackend(engineOptions.backend);
  const rng = new Rng(opts.seed);
  const split = heldOutPeople ? splitByNamedPeople(data.labels, heldOutPeople) : splitByPerson(data.labels, opts.heldOut, rng);
  if (split.train.length === 0) throw new Error(`${opts.data}: every person is held out, nothing left to train on`);
  return { data, tf, rng, split };
}

/** A people file: one person id per line; blank lines and lines starting with # are skipped. */
async function readPeopleFile(file: string): Promise<Set<string>> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new Error(`cannot read the people file ${file}: ${err.message}`);
  });
  const people = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (people.length === 0) throw new Error(`${file}: lists no person`);
  return new Set(people);
}

/** training.json next to the model: how it was trained, and the people it saw (evaluate skips them). */
async function writeTrainingReport(dir: string, report: { trainedPeople: string[] } & Record<string, unknown>): Promise<void> {
  const trainedPeople = [...new Set(report.trainedPeople)].sort();
  await writeFile(path.join(dir, 'training.json'), `${JSON.stringify({ ...report, trainedPeople }, null, 2)}\n`);
}

/** The embeddings and the id of the model that made them. */
async function embedData(engineOptions: EngineOptions, opts: CommonOptions): Promise<LabelledEmbeddings & { model: string }> {
  if (!(await stat(opts.data).then((s) => s.isDirectory(), () => false))) throw new Error(`${opts.data}: not a folder`);
  await mkdir(opts.out, { recursive: true });
  const data = await withEngine(engineOptions, async (engine) => {
    const bar = progressBar('embed');
    try {
      const embedded = await labelledEmbeddings(engine, opts.data, opts.out, {
        model: engine.model.id,
        analyzer: engineOptions.analyzer,
        concurrency: inFlight(engineOptions),
        onProgress: (done, total) => bar.update(done, total),
      });
      return { ...embedded, model: engine.model.id };
    } finally {
      bar.stop();
    }
  });
  if (data.vectors.length === 0) throw new Error(`${opts.data}: no face found in any image`);
  return data;
}
