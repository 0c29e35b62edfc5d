import { createRequire } from 'node:module';
import type * as ort from 'onnxruntime-node';
import type { OnnxModelOptions } from './onnx-types.js';

const require = createRequire(import.meta.url);
let runtime: typeof ort | undefined;
/**
 * onnxruntime-node, loaded on first use and not on import: the engine imports these classes on every
 * backend, and where onnxruntime's native library does not load, the tfjs backends must still start.
 */
function onnxruntime(): typeof ort {
  runtime ??= require('onnxruntime-node') as typeof ort;
  return runtime;
}

/**
 * An onnxruntime CPU session for a built graph. Defaults fit the engine's worker pool: one session
 * per worker thread, one intra-op thread, no spinning (idle threads would burn the other workers'
 * cores). `run` blocks the calling thread, so sessions live in worker threads, not the main one.
 */
export function createOnnxSession(file: string, options: OnnxModelOptions): Promise<ort.InferenceSession> {
  return onnxruntime().InferenceSession.create(file, onnxSessionOptions(options));
}

/** The CPU session options every graph of the engine runs with: all graph optimisations, threads as asked. */
export function onnxSessionOptions(
  options: Pick<OnnxModelOptions, 'intraOpNumThreads' | 'spinning'>,
): ort.InferenceSession.SessionOptions {
  const spinning = options.spinning ?? false;
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: options.intraOpNumThreads ?? 1,
    interOpNumThreads: 1,
    // A spinning pool burns the cores the other worker threads need between runs.
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** Runs a one-input, one-output graph on a float32 batch and returns the output's values. */
export async function runOnnx(
  session: ort.InferenceSession,
  input: { name: string; data: Float32Array; dims: readonly number[] },
  output: string,
): Promise<Float32Array> {
  const tensor = new (onnxruntime().Tensor)('float32', input.data, input.dims);
  const results = await session.run({ [input.name]: tensor }, [output]);
  const value = results[output];
  if (!value) throw new Error(`onnx: the graph gave no output ${output}`);
  return value.data as Float32Array;
}
