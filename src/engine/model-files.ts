import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import type { TfBackend } from './tf-backend.js';

/**
 * Reading tfjs models from a folder, on every backend. tfjs-node's file:// handler is missing on
 * wasm, so the files are read here and handed to tf.io.fromMemory. The layout (model.json +
 * weights) is the standard one, which src/training writes.
 */
export const MODEL_JSON = 'model.json';

export interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: tfjs.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: Record<string, unknown>;
}

/**
 * The files of the model in `dir` without tfjs: model.json, its weight files, its user-defined
 * metadata, and a SHA-256 of model.json and the weights, what identifies this exact model (e.g.
 * which adapter made an embedding). Errors name the file that is missing or unreadable.
 */
export async function readModelFiles(
  dir: string,
): Promise<{ json: ModelJson; weights: ArrayBuffer[]; metadata: Record<string, unknown>; sha256: string }> {
  const file = path.join(dir, MODEL_JSON);
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new Error(`cannot read the model ${file}: ${err.message}`);
  });
  let json: ModelJson;
  try {
    json = JSON.parse(text) as ModelJson;
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(json.weightsManifest)) throw new Error(`${file}: not a tfjs model (no weightsManifest)`);
  const hash = createHash('sha256').update(text);
  const weights: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const bytes = await readFile(path.join(dir, p)).catch((err: Error) => {
        throw new Error(`cannot read the weights of ${file}: ${err.message}`);
      });
      hash.update(bytes);
      weights.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    }
  }
  return { json, weights, metadata: json.userDefinedMetadata ?? {}, sha256: hash.digest('hex') };
}

/** The model in `dir` loaded into tfjs, with what readModelFiles reads. */
export async function loadLayersModel(
  tf: TfBackend['tf'],
  dir: string,
): Promise<{ model: tfjs.LayersModel; metadata: Record<string, unknown>; sha256: string }> {
  const { json, weights, metadata, sha256 } = await readModelFiles(dir);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: tf.io.CompositeArrayBuffer.join(weights),
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
    }),
  );
  model.setUserDefinedMetadata(metadata);
  return { model, metadata, sha256 };
}
