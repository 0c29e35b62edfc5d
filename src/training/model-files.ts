import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LayersModel, Tensor, Tf } from './tf-types.js';

/**
 * tfjs models and tensors in a folder, on every backend. tfjs-node's file:// handler is missing
 * on wasm, so the artifacts go through tf.io.withSaveHandler / tf.io.fromMemory to files written
 * here, in the standard layout (model.json + weights.bin) that tf.loadLayersModel('file://...')
 * of tfjs-node also reads.
 */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Writes to a temporary name, then renames: a reader never sees half a file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

export async function saveLayersModel(tf: Tf, model: LayersModel, dir: string, metadata?: Record<string, unknown>): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (metadata) model.setUserDefinedMetadata(metadata);
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0));
      await writeFileAtomic(path.join(dir, WEIGHTS_BIN), new Uint8Array(weights));
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      // model.json last: its presence means the folder is complete.
      await writeFileAtomic(path.join(dir, MODEL_JSON), `${JSON.stringify(json)}\n`);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: Record<string, unknown>;
}

/**
 * The files of the model in `dir` without tfjs: model.json, its weight files, its user-defined
 * metadata, and a SHA-256 of model.json and the weights, what identifies this exact model (e.g.
 * which adapter made an embedding). Errors name the file that is missing or unreadable.
 */
export async function readModelFiles(dir: string): Promise<{ json: ModelJson; weights: ArrayBuffer[]; metadata: Record<string, unknown>; sha256: string }> {
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
export async function loadLayersModel(tf: Tf, dir: string): Promise<{ model: LayersModel; metadata: Record<string, unknown>; sha256: string }> {
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

/** Named tensors as `<base>.json` (the tfjs weights manifest) and `<base>.bin`. */
export async function saveTensors(tf: Tf, tensors: { name: string; tensor: Tensor }[], base: string): Promise<void> {
  await mkdir(path.dirname(base), { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await writeFileAtomic(`${base}.bin`, new Uint8Array(data));
  await writeFileAtomic(`${base}.json`, `${JSON.stringify(specs)}\n`);
}

/** The tensors saveTensors wrote, in their saved order. The caller disposes them. */
export async function loadTensors(tf: Tf, base: string): Promise<{ name: string; tensor: Tensor }[]> {
  const specs = JSON.parse(await readFile(`${base}.json`, 'utf8')) as import('@tensorflow/tfjs').io.WeightsManifestEntry[];
  const bytes = await readFile(`${base}.bin`);
  const map = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}
