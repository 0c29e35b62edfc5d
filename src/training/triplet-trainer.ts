import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { EmbeddingNet } from './embedding-net.js';
import { loadTensors, saveTensors, writeFileAtomic } from './model-files.js';
import { PKSampler } from './pk-sampler.js';
import { Rng } from './rng.js';
import type { Tensor, Tf } from './tf-types.js';
import { pairwiseDistances, tripletLoss, type TripletDistance } from './triplet-loss.js';
import { activeTriplets, mineTriplets, tripletLossValue, type MiningStrategy } from './triplet-mining.js';

export interface TripletData {
  /** The person of each item. */
  labels: readonly string[];
  /** The network's input for these items (a new tensor the trainer disposes); `rng` for augmentation. */
  batch(indices: readonly number[], rng: Rng): Tensor;
}

export interface TripletTrainingOptions {
  /** alpha (FaceNet: 0.2 with squared distances on unit vectors). */
  margin: number;
  mining: MiningStrategy;
  distance: TripletDistance;
  /** Total epochs: a resumed run continues up to this number. */
  epochs: number;
  /** People per batch and images per person. */
  p: number;
  k: number;
  learningRate: number;
  /** Multiplies learningRate in the given epoch (1-based): e.g. a step decay. Default: constant. */
  learningRateFactor?: (epoch: number, epochs: number) => number;
  seed: number;
  /** Where checkpoints go (a `checkpoint/` folder inside); none when absent. */
  checkpointDir?: string;
  /** Checkpoint every this many epochs (default 1), and always after the last. */
  checkpointEvery?: number;
  /** Continue from the checkpoint in checkpointDir when there is one. */
  resume?: boolean;
  /** Called once when training continues from a checkpoint, with the epoch it had reached. */
  onResume?: (epoch: number) => void;
  onEpoch?: (stats: EpochStats) => void;
  onBatch?: (done: number, total: number) => void;
}

export interface EpochStats {
  /** 1-based. */
  epoch: number;
  /** Mean loss of the mined triplets, J / mined. */
  loss: number;
  /** Share of all valid triplets in the epoch's batches that violate the margin (non-zero loss). */
  activeShare: number;
  /** Triplets the miner picked, and how many of them had a non-zero loss. */
  mined: number;
  minedActive: number;
  batches: number;
  seconds: number;
}

export interface TripletTrainingResult {
  history: EpochStats[];
  /** The epoch training started from: 0, or the checkpoint's when resumed. */
  resumedFrom: number;
}

const CHECKPOINT = 'checkpoint';

interface CheckpointState {
  epoch: number;
  rngState: number;
  history: EpochStats[];
  options: Omit<
    TripletTrainingOptions,
    'onEpoch' | 'onBatch' | 'onResume' | 'checkpointDir' | 'resume' | 'learningRateFactor'
  >;
}

/**
 * Trains `net` with the triplet loss: per epoch, P x K batches; in each batch the embeddings'
 * distance matrix is computed once, triplets are mined from it, and the step minimises J divided by
 * the number of mined triplets with a non-zero loss (so that the step size does not shrink as the
 * margin gets satisfied; with 'semi-hard' every mined triplet is active by definition).
 */
export async function trainTriplet(
  tf: Tf,
  net: EmbeddingNet,
  data: TripletData,
  options: TripletTrainingOptions,
): Promise<TripletTrainingResult> {
  const { margin, mining, distance, epochs } = options;
  const sampler = new PKSampler(data.labels, { p: options.p, k: options.k });
  const optimizer = tf.train.adam(options.learningRate);
  let rng = new Rng(options.seed);
  let history: EpochStats[] = [];
  let start = 0;

  if (options.resume && options.checkpointDir) {
    const state = await loadCheckpoint(tf, net, optimizer, options.checkpointDir);
    if (state) {
      start = state.epoch;
      history = state.history;
      rng = new Rng(state.rngState);
      options.onResume?.(start);
    }
  }
  const resumedFrom = start;

  try {
    for (let epoch = start + 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      // Adam reads its (protected) learningRate at every step.
      (optimizer as unknown as { learningRate: number }).learningRate =
        options.learningRate * (options.learningRateFactor?.(epoch, epochs) ?? 1);
      const batches = sampler.epoch(rng);
      let lossSum = 0;
      let mined = 0;
      let minedActive = 0;
      let valid = 0;
      let active = 0;
      for (const [b, indices] of batches.entries()) {
        const labels = indices.map((i) => data.labels[i]);
        const x = data.batch(indices, rng);
        try {
          optimizer.minimize(
            () => {
              const embeddings = net.embed(x, true);
              const d = pairwiseDistances(tf, embeddings, distance);
              const values = d.dataSync();
              const triplets = mineTriplets(values, labels, { strategy: mining, margin, rng });
              const counts = activeTriplets(values, labels, margin);
              let batchActive = 0;
              for (const t of triplets) {
                const l = tripletLossValue(values, labels.length, t, margin);
                lossSum += l;
                if (l > 0) batchActive++;
              }
              mined += triplets.length;
              minedActive += batchActive;
              valid += counts.valid;
              active += counts.active;
              return tf.div(tripletLoss(tf, d, triplets, margin), Math.max(1, batchActive));
            },
            false,
            net.variables,
          );
        } finally {
          x.dispose();
        }
        options.onBatch?.(b + 1, batches.length);
      }
      const stats: EpochStats = {
        epoch,
        loss: mined > 0 ? lossSum / mined : 0,
        activeShare: valid > 0 ? active / valid : 0,
        mined,
        minedActive,
        batches: batches.length,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(stats);
      options.onEpoch?.(stats);
      const every = options.checkpointEvery ?? 1;
      if (options.checkpointDir && (epoch % every === 0 || epoch === epochs)) {
        const {
          onEpoch: _e,
          onBatch: _b,
          onResume: _o,
          checkpointDir: _c,
          resume: _r,
          learningRateFactor: _l,
          ...rest
        } = options;
        await saveCheckpoint(tf, net, optimizer, options.checkpointDir, {
          epoch,
          rngState: rng.state,
          history,
          options: rest,
        });
      }
    }
  } finally {
    optimizer.dispose();
  }
  return { history, resumedFrom };
}

type Optimizer = ReturnType<Tf['train']['adam']>;

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/**
 * `<dir>/checkpoint/`: state.json (epoch, rng state, history), the net's variables and the
 * optimizer's state. Written to a new folder that then replaces the old one, so a crash mid-save
 * leaves the previous checkpoint.
 */
export async function saveCheckpoint(
  tf: Tf,
  net: EmbeddingNet,
  optimizer: Optimizer,
  dir: string,
  state: CheckpointState,
): Promise<void> {
  const final = path.join(dir, CHECKPOINT);
  const tmp = `${final}.tmp`;
  const old = `${final}.old`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await saveTensors(
    tf,
    net.variables.map((v, i) => ({ name: `v${i}`, tensor: v })),
    path.join(tmp, 'variables'),
  );
  await saveTensors(tf, await optimizer.getWeights(), path.join(tmp, 'optimizer'));
  await writeFileAtomic(path.join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  await rm(old, { recursive: true, force: true });
  if (await exists(final)) await rename(final, old);
  await rename(tmp, final);
  await rm(old, { recursive: true, force: true });
}

/** Restores the net and the optimizer from `<dir>/checkpoint/`; undefined when there is none. */
export async function loadCheckpoint(
  tf: Tf,
  net: EmbeddingNet,
  optimizer: Optimizer,
  dir: string,
): Promise<CheckpointState | undefined> {
  let folder = path.join(dir, CHECKPOINT);
  if (!(await exists(path.join(folder, 'state.json')))) {
    folder = `${folder}.old`; // a crash between the two renames
    if (!(await exists(path.join(folder, 'state.json')))) return undefined;
  }
  const state = JSON.parse(await readFile(path.join(folder, 'state.json'), 'utf8')) as CheckpointState;
  const variables = await loadTensors(tf, path.join(folder, 'variables'));
  const targets = net.variables;
  if (variables.length !== targets.length)
    throw new Error(`checkpoint has ${variables.length} variables, the network ${targets.length}`);
  variables.forEach(({ tensor }, i) => {
    if (tensor.shape.join('x') !== targets[i].shape.join('x')) {
      throw new Error(`checkpoint variable ${i} has shape [${tensor.shape}], the network's is [${targets[i].shape}]`);
    }
    targets[i].assign(tensor);
    tensor.dispose();
  });
  const weights = await loadTensors(tf, path.join(folder, 'optimizer'));
  await optimizer.setWeights(weights);
  for (const w of weights) w.tensor.dispose();
  return state;
}
