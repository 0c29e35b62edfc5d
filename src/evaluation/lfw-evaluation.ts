import { readFile, stat } from 'node:fs/promises';
import { BASE_MODEL } from '../engine/embedding-model.js';
import type { IdentificationRule } from '../identification/identification-rule.js';
import { adaptedAnalyzer, memoizedAnalyzer } from './analyzers.js';
import { runEvaluation, type Analyzer, type EvaluationResult } from './evaluation-runner.js';
import { runOpenSetEvaluation, type OpenSetResult } from './open-set-runner.js';
import { parsePairsFile } from './pairs-file.js';
import type { PairsFile } from './types.js';

export type VariantName = 'plain' | 'adapter' | 'verifier';

/**
 * A trained adapter and/or pair classifier to compare with the plain embedder. src/training loads
 * them (loadLearntModels): the evaluation only needs what they compute.
 */
export interface LearntModels {
  adapter?: { id: string; rule: IdentificationRule; adapt(vectors: Float32Array[]): Float32Array[] };
  /** onAdapted: the classifier was trained on the adapter's embeddings, not the plain ones. */
  verifier?: { id: string; onAdapted: boolean; probability(a: Float32Array, b: Float32Array): number };
  /** The people either was trained on: the evaluation keeps to the others. */
  seen: ReadonlySet<string>;
  dispose(): void;
}

/** The engine as the evaluation needs it: the plain embedder (the adapter is applied here), and its backend's name. */
export interface EvaluationEngine extends Analyzer {
  readonly backend: string;
}

/** A step of the run, for a progress display. */
export interface EvaluationStep {
  protocol: 'pairs' | 'open-set';
  variant: VariantName;
  /** How many variants the run compares. */
  variants: number;
}

export interface LfwEvaluationOptions {
  /** LFW root holding <Name>/<Name>_0001.jpg ... */
  root: string;
  /** The LFW pairs file (View-2 verification), if any. */
  pairsFile?: string;
  /** Also run open-set identification. */
  openSet: boolean;
  /** Images in flight at once. */
  concurrency: number;
  /** Runs `fn` with a started engine (without the adapter) and closes it after. */
  withEngine<T>(fn: (engine: EvaluationEngine) => Promise<T>): Promise<T>;
  /** The trained models to compare, if any; called once the inputs are checked, disposed at the end. */
  loadLearnt?(): Promise<LearntModels | undefined>;
  onProgress?(step: EvaluationStep, done: number, total: number): void;
}

export interface VariantResult {
  name: VariantName;
  id: string;
  result?: EvaluationResult;
  openSet?: OpenSetResult;
}

export interface LfwEvaluation {
  backend: string;
  /** The plain embedder first, then the adapter and the verifier when given. */
  runs: VariantResult[];
  /** Set when trained models took part: the pairs and folds left once their people are dropped. */
  unseen?: { pairs?: number; folds?: number };
}

/** One way of comparing faces, evaluated on the same images: the plain embedder, the adapter, the pair classifier. */
interface Variant {
  name: VariantName;
  id: string;
  analyzer: Analyzer;
  score?: (a: Float32Array, b: Float32Array) => number;
  /** The 1:N rule (open-set), for the distance-based variants. */
  rule?: IdentificationRule;
}

/**
 * The LFW benchmarks (View-2 verification on a pairs file, open-set identification) of the plain
 * embedder and, when given, of a trained adapter and pair classifier on the people they never saw.
 * Every image is detected and embedded once for all variants.
 */
export async function evaluateLfw(options: LfwEvaluationOptions): Promise<LfwEvaluation> {
  const { root, pairsFile, concurrency } = options;
  if (
    !(await stat(root).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new Error(`${root}: not a folder`);
  const allPairs = pairsFile === undefined ? undefined : await readPairsFile(pairsFile);
  const learnt = await options.loadLearnt?.();
  try {
    const pairs = allPairs && learnt ? unseenPairs(allPairs, learnt.seen) : allPairs;
    if (pairs && pairs.folds.length === 0)
      throw new Error(`${pairsFile}: every pair names a person the adapter or verifier was trained on`);

    return await options.withEngine(async (engine) => {
      const variants = evaluationVariants(engine, learnt);
      const runs: VariantResult[] = [];
      for (const variant of variants) {
        const run: VariantResult = { name: variant.name, id: variant.id };
        const progress = (protocol: EvaluationStep['protocol']) => (done: number, total: number) =>
          options.onProgress?.({ protocol, variant: variant.name, variants: variants.length }, done, total);
        if (pairs !== undefined) {
          run.result = await runEvaluation(variant.analyzer, {
            root,
            pairs,
            score: variant.score,
            concurrency,
            onProgress: progress('pairs'),
          });
        }
        if (options.openSet && variant.rule) {
          run.openSet = await runOpenSetEvaluation(variant.analyzer, {
            root,
            concurrency,
            rule: variant.rule,
            people: learnt ? (person) => !learnt.seen.has(person) : undefined,
            onProgress: progress('open-set'),
          });
        }
        runs.push(run);
      }
      const unseen = learnt ? { pairs: pairs?.folds.flat().length, folds: pairs?.folds.length } : undefined;
      return { backend: engine.backend, runs, unseen };
    });
  } finally {
    learnt?.dispose();
  }
}

async function readPairsFile(file: string): Promise<PairsFile> {
  return parsePairsFile(
    await readFile(file, 'utf8').catch((err: Error) => {
      throw new Error(`cannot read the pairs file: ${err.message}`);
    }),
  );
}

/** The plain embedder, then the adapter and the verifier when given, sharing each image's analysis. */
function evaluationVariants(engine: Analyzer, learnt: LearntModels | undefined): Variant[] {
  const images = memoizedAnalyzer(engine);
  const variants: Variant[] = [{ name: 'plain', id: BASE_MODEL.id, analyzer: images, rule: BASE_MODEL.identification }];
  let adapted: Analyzer | undefined;
  if (learnt?.adapter) {
    const { adapter } = learnt;
    // Memoised too: pairs, open-set and a verifier on adapted vectors share each image's adaptation.
    adapted = memoizedAnalyzer(adaptedAnalyzer(images, (v) => adapter.adapt(v)));
    variants.push({ name: 'adapter', id: adapter.id, analyzer: adapted, rule: adapter.rule });
  }
  if (learnt?.verifier) {
    const { verifier } = learnt;
    const analyzer = verifier.onAdapted && adapted ? adapted : images;
    variants.push({ name: 'verifier', id: verifier.id, analyzer, score: (a, b) => 1 - verifier.probability(a, b) });
  }
  return variants;
}

/** The pairs whose two people are both outside `seen`, in their folds; folds left empty are dropped. */
function unseenPairs(file: PairsFile, seen: ReadonlySet<string>): PairsFile {
  const person = (key: string) => key.split('/')[0];
  const folds = file.folds
    .map((fold) => fold.filter((p) => !seen.has(person(p.a)) && !seen.has(person(p.b))))
    .filter((fold) => fold.length > 0);
  return { ...file, folds };
}
