import type { Command } from 'commander';
import { loadEngineConfig } from '../../config/engine-config.js';
import type { EngineOptions } from '../../engine/engine-types.js';
import { labelledEmbeddings } from '../../training/labelled-embeddings.js';
import { trainPairClassifier, type PairClassifierRunOptions } from '../../training/train-pair-classifier.js';
import { trainTripletAdapter, type TripletAdapterOptions } from '../../training/train-triplet-adapter.js';
import type { EmbedLabelledFolder } from '../../training/training-data.js';
import { TRIPLET_DISTANCES, type TripletDistance } from '../../training/triplet-loss.js';
import { MINING_STRATEGIES, type MiningStrategy } from '../../training/triplet-mining.js';
import { choiceArg, fractionArg, intArg, numberArg } from '../arg-parsers.js';
import { inFlight, withEngine } from '../engine-session.js';
import { EXIT, printJson, printLine } from '../output.js';
import { progressBar, type Progress } from '../progress-bar.js';

/** A trainer's flags: its options, with --lr for the learning rate, and --json. */
type Flags<T> = Omit<T, 'learningRate' | 'backend'> & { lr: number; json?: boolean };

/** A trainer command's texts: its description, what --held-out measures, what --out holds. */
interface TrainerTexts {
  description: string;
  heldOut: string;
  out: string;
}

const TRIPLET: TrainerTexts = {
  description:
    'train an embedding adapter (a learnt residual correction of the frozen embeddings, L2-normalised) with the triplet loss',
  heldOut: 'adapter (and calibrate its threshold)',
  out: 'the adapter (model.json, weights.bin), training.json, checkpoint/ and the embedding cache',
};

const PAIR_CLASSIFIER: TrainerTexts = {
  description: 'train a logistic pair classifier on (|f1 - f2|, f1 * f2) of the embeddings: P(same person)',
  heldOut: 'classifier',
  out: 'the classifier (model.json, weights.bin), training.json and the embedding cache',
};

/** What both trainers take: the labelled folder, the people kept out to measure the model, and where it goes. */
function withTrainingData(command: Command, texts: TrainerTexts): Command {
  return command
    .description(texts.description)
    .requiredOption(
      '--data <folder>',
      'labelled faces: <folder>/<personId>/<image> (embeddings computed once, cached in --out)',
    )
    .option(
      '--held-out <fraction>',
      `share of the people kept out of training to measure verification with and without the ${texts.heldOut}`,
      fractionArg,
      0.1,
    )
    .option(
      '--held-out-people <file>',
      'hold out exactly these people (one person id per line) instead of a random --held-out share',
    )
    .requiredOption('--out <dir>', texts.out);
}

export function registerTrain(program: Command): void {
  const train = program
    .command('train')
    .description('adapt the similarity to your own labelled faces: a triplet-loss adapter, or a pair classifier');

  withTrainingData(train.command('triplet'), TRIPLET)
    .option('--epochs <n>', 'epochs in all (a resumed run continues up to this)', intArg(1), 30)
    .option('--margin <alpha>', 'alpha in max(d(A,P) - d(A,N) + alpha, 0)', numberArg(0), 0.2)
    .option(
      '--mining <strategy>',
      `triplets per batch: ${MINING_STRATEGIES.join(' | ')}`,
      choiceArg(MINING_STRATEGIES),
      'semi-hard' as MiningStrategy,
    )
    .option(
      '--distance <d>',
      `distance inside the loss: ${TRIPLET_DISTANCES.join(' | ')} (FaceNet: squared)`,
      choiceArg(TRIPLET_DISTANCES),
      'squared' as TripletDistance,
    )
    .option('--resume', 'continue from <out>/checkpoint/')
    .option('--p <n>', 'people per batch', intArg(2), 32)
    .option('--k <n>', 'images per person per batch', intArg(2), 4)
    .option('--hidden <n>', 'units of the hidden ReLU layer (0: one linear layer)', intArg(0), 512)
    .option(
      '--output-size <n>',
      'project to this many dimensions (a plain dense adapter); by default the adapter is residual: the embedding plus a learnt correction starting at zero, same size',
      intArg(1),
    )
    .option('--lr <rate>', 'Adam learning rate', numberArg(0), 0.001)
    .option('--seed <n>', 'seed of the initialisation, batches and held-out split', intArg(0), 1)
    .option(
      '--json',
      'print one JSON object as the last line: {epochs, loss, activeShare, heldOut: {plain, adapted}, ...}',
    )
    .action(async (opts: Flags<TripletAdapterOptions>, command: Command) => {
      const engineOptions = loadEngineConfig(command.optsWithGlobals());
      if (engineOptions.adapter !== undefined)
        throw new Error(
          'train triplet: an adapter is trained on the plain embeddings; drop --adapter / FACEPIPE_ADAPTER',
        );
      const log = logTo(opts);
      let bar: Progress | undefined;
      const { heldOutPeople, ...summary } = await trainTripletAdapter(
        { ...opts, learningRate: opts.lr, backend: engineOptions.backend },
        {
          embed: embedWith(engineOptions),
          onResume: (epoch) => log(`resumed from the checkpoint of epoch ${epoch}`),
          onBatch: (done, total) => {
            bar ??= progressBar('train', { unit: 'batches' });
            bar.update(done, total);
          },
          onEpoch: (s) => {
            bar?.stop();
            bar = undefined;
            log(
              `epoch ${s.epoch}/${opts.epochs}  loss ${s.loss.toFixed(4)}  active ${(100 * s.activeShare).toFixed(1)}% of valid triplets  mined ${s.mined} (${s.minedActive} active)  ${s.seconds.toFixed(1)} s`,
            );
          },
        },
      );
      if (opts.json) printJson(summary);
      else {
        const { heldOut } = summary;
        printLine(
          `adapter -> ${opts.out} (${summary.images} images of ${summary.people} people, ${summary.skipped} without a face, ${summary.cached} embeddings from the cache)`,
        );
        if (heldOut)
          printLine(
            `held-out verification (${heldOut.pairs} pairs of ${heldOutPeople} unseen people): plain ${pct(heldOut.plain)}, adapted ${pct(heldOut.adapted)}`,
          );
      }
      process.exitCode = EXIT.ok;
    });

  withTrainingData(train.command('pair-classifier'), PAIR_CLASSIFIER)
    .option('--epochs <n>', 'passes over the balanced pairs', intArg(1), 20)
    .option('--lr <rate>', 'Adam learning rate', numberArg(0), 0.01)
    .option(
      '--l2 <weight>',
      'L2 penalty on the weights (0.01: the best of 1e-4, 0.01, 0.1 on unseen LFW people)',
      numberArg(0),
      0.01,
    )
    .option('--batch-size <n>', 'pairs per step', intArg(1), 256)
    .option('--seed <n>', 'seed of the pair sampling and held-out split', intArg(0), 1)
    .option('--json', 'print one JSON object as the last line: {pairs, heldOut: {plain, classifier}, ...}')
    .action(async (opts: Flags<PairClassifierRunOptions>, command: Command) => {
      const engineOptions = loadEngineConfig(command.optsWithGlobals());
      const log = logTo(opts);
      const summary = await trainPairClassifier(
        { ...opts, learningRate: opts.lr, backend: engineOptions.backend },
        {
          embed: embedWith(engineOptions),
          onEpoch: (epoch, logs) =>
            log(`epoch ${epoch}/${opts.epochs}  loss ${logs.loss.toFixed(4)}  accuracy ${pct(logs.accuracy)}`),
        },
      );
      if (opts.json) printJson(summary);
      else {
        const { heldOut } = summary;
        printLine(
          `pair classifier -> ${opts.out} (${summary.images} images of ${summary.people} people, ${summary.skipped} without a face)`,
        );
        if (heldOut)
          printLine(
            `held-out verification (${heldOut.pairs} pairs of unseen people): plain distance ${pct(heldOut.plain)}, classifier ${pct(heldOut.classifier)} (${pct(heldOut.classifierAtHalf)} at P(same) > 0.5)`,
          );
      }
      process.exitCode = EXIT.ok;
    });
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Progress lines: on stderr with --json, so that stdout holds the JSON only. */
function logTo(opts: { json?: boolean }): (line: string) => void {
  return (line) => (opts.json ? process.stderr.write(`${line}\n`) : printLine(line));
}

/** The labelled folder's embeddings by an engine started for them, with a progress bar. */
function embedWith(engineOptions: EngineOptions): EmbedLabelledFolder {
  return (data, cacheDir) =>
    withEngine(engineOptions, async (engine) => {
      const bar = progressBar('embed');
      try {
        const embedded = await labelledEmbeddings(engine, data, cacheDir, {
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
}
