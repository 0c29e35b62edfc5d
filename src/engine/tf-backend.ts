import { createRequire } from 'node:module';
import path from 'node:path';
import { loadOnnxRuntime, type OnnxRuntime, type OnnxThreading } from './onnx/onnx-runtime.js';

/**
 * Backend selection. `onnx`: the networks converted to ONNX (src/engine/onnx/) run on
 * onnxruntime-node, the others on tfjs-wasm in the same worker threads. tfjs-node(-gpu) are
 * optionalDependencies whose install downloads libtensorflow; where that failed they are absent and
 * the wasm backend (always installable) runs. face-api and Human each ship one bundle per tfjs
 * flavour, so the choice also picks those bundles.
 */
export const BACKEND_NAMES = ['onnx', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface TfBackend {
  /**
   * What runs, as reported in every JSON output: e.g. "tensorflow (tfjs-node-gpu)", "wasm" or
   * "onnx (onnxruntime-node 1.31.1) + wasm".
   */
  name: string;
  kind: BackendName;
  /** The tfjs namespace the models run on (the same instance face-api and Human use). */
  tf: typeof import('@tensorflow/tfjs');
  /** Bundle suffix of @vladmandic/face-api and @vladmandic/human matching this tfjs flavour. */
  bundle: 'node-gpu' | 'node' | 'node-wasm';
  /** With `onnx`: onnxruntime-node, for the networks converted to ONNX. */
  onnx?: OnnxRuntime;
}

export interface BackendOptions {
  /** How onnxruntime sessions use threads (onnx only); by default one thread per session. */
  onnxThreading?: OnnxThreading;
}

const require = createRequire(import.meta.url);

function tryRequire(id: string): unknown {
  try {
    return require(id);
  } catch {
    return undefined;
  }
}

async function loadTensorflow(
  flavours: ReadonlyArray<readonly [string, 'node-gpu' | 'node']> = [
    ['@tensorflow/tfjs-node-gpu', 'node-gpu'],
    ['@tensorflow/tfjs-node', 'node'],
  ],
): Promise<TfBackend | undefined> {
  for (const [id, bundle] of flavours) {
    const tf = tryRequire(id) as TfBackend['tf'] | undefined;
    if (!tf) continue;
    await tf.setBackend('tensorflow');
    await tf.ready();
    return { name: `tensorflow (${id.slice('@tensorflow/'.length)})`, kind: 'tensorflow', tf, bundle };
  }
  return undefined;
}

async function loadWasmOrCpu(kind: 'wasm' | 'cpu'): Promise<TfBackend> {
  const tf = require('@tensorflow/tfjs') as TfBackend['tf'];
  if (kind === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    // Load the .wasm binaries from the installed package (never a CDN); a trailing slash is required.
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + path.sep);
  }
  const ok = await tf.setBackend(kind);
  await tf.ready();
  // tfjs silently falls back to another backend when one fails to initialise: refuse that.
  if (!ok || tf.getBackend() !== kind) {
    throw new Error(`TensorFlow.js backend "${kind}" did not initialise (running: ${tf.getBackend()})`);
  }
  return { name: kind, kind, tf, bundle: 'node-wasm' };
}

/** onnxruntime-node for the converted networks, tfjs-wasm for the rest; undefined where it does not load. */
async function loadOnnx(options: BackendOptions): Promise<TfBackend | undefined> {
  const onnx = loadOnnxRuntime(options.onnxThreading);
  if (!onnx) return undefined;
  const wasm = await loadWasmOrCpu('wasm');
  return { ...wasm, name: `onnx (${onnx.name}) + wasm`, kind: 'onnx', onnx };
}

/**
 * Picks tfjs-node-gpu (the GPU path), then onnx (onnxruntime-node loads on every platform with a
 * prebuilt binary), then tfjs-node, then wasm; `forced` (FACEPIPE_BACKEND) skips the search and
 * fails when that backend is not there.
 */
export async function selectBackend(forced?: BackendName, options: BackendOptions = {}): Promise<TfBackend> {
  if (forced === 'tensorflow') {
    const backend = await loadTensorflow();
    if (!backend) {
      throw new Error(
        'FACEPIPE_BACKEND=tensorflow but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed',
      );
    }
    return backend;
  }
  if (forced === 'onnx') {
    const backend = await loadOnnx(options);
    if (!backend) throw new Error('FACEPIPE_BACKEND=onnx but onnxruntime-node does not load on this platform');
    return backend;
  }
  if (forced) return loadWasmOrCpu(forced);
  return (
    (await loadTensorflow([['@tensorflow/tfjs-node-gpu', 'node-gpu']])) ??
    (await loadOnnx(options)) ??
    (await loadTensorflow([['@tensorflow/tfjs-node', 'node']])) ??
    loadWasmOrCpu('wasm')
  );
}
