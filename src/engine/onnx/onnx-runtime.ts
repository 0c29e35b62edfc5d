import { createRequire } from 'node:module';
import type { InferenceSession } from 'onnxruntime-node';
import { onnxCacheDir } from './onnx-graph-cache.js';
import { onnxSessionOptions } from './onnx-session.js';
import type { OnnxModelOptions } from './onnx-types.js';

export type Ort = typeof import('onnxruntime-node');

/** How the engine's sessions use threads (see docs/engine.md, "The onnx backend"). */
export type OnnxThreading =
  /** One session per worker thread, each running on that thread alone (intra-op threads 1, no spinning). */
  | { mode: 'per-thread' }
  /** One intra-op pool of `threads` threads per session. */
  | { mode: 'intra-op'; threads: number };

/** onnxruntime-node as the engine runs it. */
export interface OnnxRuntime {
  ort: Ort;
  /** e.g. "onnxruntime-node 1.31.1". */
  name: string;
  sessionOptions: InferenceSession.SessionOptions;
  /** The same choices for the networks' loaders (onnx-*-embedder.ts, onnx-face-landmarks.ts). */
  modelOptions: OnnxModelOptions;
}

const require = createRequire(import.meta.url);

/** Session options: CPU provider, every graph optimisation, threads as `threading` says. */
export function sessionOptions(threading: OnnxThreading): InferenceSession.SessionOptions {
  const perThread = threading.mode === 'per-thread';
  return onnxSessionOptions({ intraOpNumThreads: perThread ? 1 : threading.threads, spinning: !perThread });
}

/**
 * onnxruntime-node, or undefined where its native library does not load (a platform without a
 * prebuilt binary, a broken install): the engine then runs tfjs alone.
 */
export function loadOnnxRuntime(threading: OnnxThreading = { mode: 'per-thread' }): OnnxRuntime | undefined {
  let ort: Ort;
  try {
    ort = require('onnxruntime-node') as Ort;
  } catch {
    return undefined;
  }
  const { version } = require('onnxruntime-node/package.json') as { version: string };
  const options = sessionOptions(threading);
  return {
    ort,
    name: `onnxruntime-node ${version}`,
    sessionOptions: options,
    modelOptions: {
      cacheDir: onnxCacheDir(),
      intraOpNumThreads: options.intraOpNumThreads,
      spinning: threading.mode !== 'per-thread',
    },
  };
}
