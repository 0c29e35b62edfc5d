import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_JSON } from '../engine/model-files.js';
import type { LayersModel, Tensor, Tf } from './tf-types.js';

/**
 * Writing tfjs models and tensors to a folder, on every backend. tfjs-node's file:// handler is
 * missing on wasm, so the artifacts go through tf.io.withSaveHandler to files written here, in the
 * standard layout (model.json + weights.bin) that the engine's loadLayersModel and
 * tf.loadLayersModel('file://...') of tfjs-node read.
 */
export const WEIGHTS_BIN = 'weights.bin';

/** Writes to a temporary name, then renames: a reader never sees half a file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

export async function saveLayersModel(
  tf: Tf,
  model: LayersModel,
  dir: string,
  metadata?: Record<string, unknown>,
): Promise<void> {
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

/** Named tensors as `<base>.json` (the tfjs weights manifest) and `<base>.bin`. */
export async function saveTensors(tf: Tf, tensors: { name: string; tensor: Tensor }[], base: string): Promise<void> {
  await mkdir(path.dirname(base), { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await writeFileAtomic(`${base}.bin`, new Uint8Array(data));
  await writeFileAtomic(`${base}.json`, `${JSON.stringify(specs)}\n`);
}

/** The tensors saveTensors wrote, in their saved order. The caller disposes them. */
export async function loadTensors(tf: Tf, base: string): Promise<{ name: string; tensor: Tensor }[]> {
  const specs = JSON.parse(
    await readFile(`${base}.json`, 'utf8'),
  ) as import('@tensorflow/tfjs').io.WeightsManifestEntry[];
  const bytes = await readFile(`${base}.bin`);
  const map = tf.io.decodeWeights(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    specs,
  );
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}
