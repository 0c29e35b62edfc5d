import path from 'node:path';
import { z } from 'zod';
import { TRIPLET_DISTANCES } from '../../src/training/triplet-loss.js';
import { MINING_STRATEGIES } from '../../src/training/triplet-mining.js';
import { integer, number, numberList, numeric, parseOptions, type BenchFlags } from '../bench-options.js';

/**
 * demo:triplet's flags. The defaults are the best measured (docs/training.md); most other flags are
 * the experiments behind that document's tables, kept so that each row can be run again.
 */
const FLAGS = {
  data: { type: 'string', default: path.resolve('../shared/datasets/att-faces') },
  epochs: { type: 'string', default: '40' },
  mining: { type: 'string', default: 'batch-all' },
  margin: { type: 'string', default: '0.2' },
  distance: { type: 'string', default: 'squared' },
  channels: { type: 'string', default: '16,32,64' },
  /** flatten (the default) or average: global average pooling before the dense layer. */
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
} as const satisfies BenchFlags;

const share = numeric(z.number().min(0).max(1));
const schema = z
  .object({
    data: z.string(),
    epochs: integer(),
    mining: z.enum(MINING_STRATEGIES),
    margin: number(),
    distance: z.enum(TRIPLET_DISTANCES),
    channels: numberList(z.number().int().min(1)),
    head: z.enum(['flatten', 'average']),
    p: integer(2),
    k: integer(2),
    lr: numeric(z.number().positive()),
    seed: integer(),
    dropout: numeric(z.number().min(0).lt(1)),
    'decay-last': share,
    'no-tta': z.boolean(),
    scale: number(1),
    rotate: number(),
    'embedding-size': integer(1),
    'train-subjects': integer(1),
    'test-offset': integer().optional(),
    norm: z.enum(['none', 'batch']),
    'convs-per-block': integer(1),
    kernel: integer(1).refine((k) => k % 2 === 1, 'expected an odd kernel size'),
    'weight-decay': number(),
    schedule: z.enum(['step', 'cosine']),
    jitter: number(),
    zoom: number(),
    erase: share,
    ramp: number(),
    glasses: share,
    'tta-shift': integer(),
    equalize: z.boolean(),
    subjects: integer(2),
    'eval-every': integer(),
    ensemble: integer(1),
    align: z.boolean(),
    'tan-triggs': z.boolean(),
    'zoom-in': number(),
    'scale-search': numberList(z.number().positive()).optional(),
    morphs: integer(),
    bottleneck: integer(),
    'average-from': integer(),
    pretrain: z.string().optional(),
    'pretrain-epochs': integer(),
    'pretrain-lr': numeric(z.number().positive()).optional(),
    joint: z.boolean(),
  })
  .refine((o) => !(o.glasses > 0 && o.align), '--glasses and --align together are not supported')
  .refine((o) => !o.joint || o.pretrain !== undefined, '--joint needs --pretrain <lfw folder>');

/** The flags as typed values, names as on the command line. */
export type DemoOptions = z.infer<typeof schema>;

/** Parses and checks the command line once; a bad flag throws an error naming it. */
export function demoOptions(args: string[] = process.argv.slice(2)): DemoOptions {
  return parseOptions(FLAGS, schema, args);
}
