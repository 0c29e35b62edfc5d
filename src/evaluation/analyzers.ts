import type { ImageAnalysis } from '../engine/engine-types.js';
import type { ImageInput } from '../engine/types.js';
import type { Analyzer } from './evaluation-runner.js';

/**
 * The engine's analysis of each image path once: several evaluations of one run (plain, adapted,
 * verification and open-set) share the images' detection and embedding.
 */
export function memoizedAnalyzer(engine: Analyzer): Analyzer {
  const seen = new Map<string, Promise<ImageAnalysis>>();
  return {
    analyze(input: ImageInput) {
      if (typeof input !== 'string') return engine.analyze(input);
      let analysis = seen.get(input);
      if (analysis === undefined) {
        analysis = engine.analyze(input);
        seen.set(input, analysis);
      }
      return analysis;
    },
  };
}

/** The analyses of `engine` with every embedding mapped through `adapt` (an embedding adapter). */
export function adaptedAnalyzer(engine: Analyzer, adapt: (vectors: Float32Array[]) => Float32Array[]): Analyzer {
  return {
    async analyze(input: ImageInput) {
      const analysis = await engine.analyze(input);
      const adapted = adapt(analysis.faces.map((f) => f.embedding));
      return { ...analysis, faces: analysis.faces.map((f, i) => ({ ...f, embedding: adapted[i] })) };
    },
  };
}
