import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { DlibReader } from './dlib-serialization.js';
import type { TfBackend } from './tf-backend.js';

interface WeightSpec {
  name: string;
  shape: number[];
}

/** face-api's weight names and shapes in file order: per conv layer filters, bias, scale, shift; then fc. */
async function faceApiWeightSpecs(faceApiModelDir: string): Promise<WeightSpec[]> {
  const manifest = JSON.parse(
    await readFile(path.join(faceApiModelDir, 'face_recognition_model-weights_manifest.json'), 'utf8'),
  ) as Array<{ weights: WeightSpec[] }>;
  return manifest.flatMap((group) => group.weights);
}

type LayerKind = 'con' | 'affine' | 'fc';

/**
 * The parameters of dlib's net in file order (input side first): for each `con_4` layer its filters
 * [out, in, h, w] then its biases, for each `affine_` its gammas then betas, last `fc_2` [in, out].
 */
function dlibLayerParams(file: string, data: Buffer): { kind: LayerKind; values: Float32Array }[] {
  const reader = new DlibReader(data);
  const layers: { kind: LayerKind; values: Float32Array; at: number }[] = [];
  for (const [kind, tag] of [
    ['con', 'con_4'],
    ['affine', 'affine_'],
  ] as const) {
    reader.offset = 0;
    while (reader.skipPast(tag)) layers.push({ kind, at: reader.offset, values: reader.tensor() });
  }
  reader.offset = 0;
  if (!reader.skipPast('fc_2')) throw new Error(`${file}: no fc_2 layer`);
  reader.int(); // outputs
  reader.int(); // inputs
  layers.push({ kind: 'fc', at: reader.offset, values: reader.tensor() });
  return layers.sort((a, b) => a.at - b.at);
}

/** dlib's filters [out, in, h, w] in tfjs's layout [h, w, in, out]. */
function toHwio(values: Float32Array, [h, w, inputs, outputs]: number[]): Float32Array {
  const out = new Float32Array(h * w * inputs * outputs);
  for (let o = 0; o < outputs; o++)
    for (let i = 0; i < inputs; i++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          out[((y * w + x) * inputs + i) * outputs + o] = values[((o * inputs + i) * h + y) * w + x];
  return out;
}

/**
 * face-api's recognition net is dlib's ResNet with most weights quantized to 8 bits per tensor. This
 * reads dlib's own float32 file and returns its weights under face-api's names and in face-api's
 * layouts, for `faceRecognitionNet.loadFromWeightMap`. `file`: dlib_face_recognition_resnet_model_v1.dat. Checked against face-api's file: every
 * quantized weight lies within half a quantization step of the float one read here, in the same order.
 */
export async function loadDlibResnetWeights(
  tf: TfBackend['tf'],
  file: string,
  faceApiModelDir: string,
): Promise<tfjs.NamedTensorMap> {
  const [specs, data] = await Promise.all([faceApiWeightSpecs(faceApiModelDir), readFile(file)]);
  const layers = dlibLayerParams(file, data);
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  let next = 0;
  const take = (kind: LayerKind, name: string) => {
    const layer = layers[next++];
    if (layer?.kind !== kind)
      throw new Error(`${file}: layer ${next} is ${layer?.kind ?? 'missing'}, face-api's ${name} needs ${kind}`);
    return layer.values;
  };
  const weights: tfjs.NamedTensorMap = {};
  for (let s = 0; s < specs.length; ) {
    if (specs[s].name === 'fc') {
      weights.fc = tf.tensor(take('fc', 'fc'), specs[s].shape);
      s += 1;
      continue;
    }
    const [filters, bias, scale, shift] = specs.slice(s, s + 4);
    const conv = take('con', filters.name);
    const affine = take('affine', scale.name);
    const filterCount = size(filters.shape);
    if (conv.length !== filterCount + size(bias.shape) || affine.length !== size(scale.shape) + size(shift.shape))
      throw new Error(`${file}: layer ${filters.name} does not have face-api's shape`);
    weights[filters.name] = tf.tensor(toHwio(conv.subarray(0, filterCount), filters.shape), filters.shape);
    weights[bias.name] = tf.tensor(conv.subarray(filterCount), bias.shape);
    weights[scale.name] = tf.tensor(affine.subarray(0, size(scale.shape)), scale.shape);
    weights[shift.name] = tf.tensor(affine.subarray(size(scale.shape)), shift.shape);
    s += 4;
  }
  if (next !== layers.length) throw new Error(`${file}: ${layers.length - next} layers left over`);
  return weights;
}
