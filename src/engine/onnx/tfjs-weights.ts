import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { NamedWeight, WeightMap } from './onnx-types.js';

/** One entry of a tfjs weights manifest. */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | string;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16' | string; scale?: number; min?: number };
}

export interface TfjsWeightGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

/** IEEE 754 half precision to single: exact, as tfjs decodes float16-quantized weights. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * The weights of a tfjs manifest from its concatenated weight files, decoded as tfjs's
 * io.decodeWeights does: float32 and int32 as stored, uint8/uint16 as `q * scale + min`, float16
 * widened. Values stay in tfjs's layouts (conv filters [h, w, in, out]).
 */
export function decodeTfjsWeights(specs: readonly TfjsWeightSpec[], data: Buffer): WeightMap {
  const weights: WeightMap = new Map();
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    let weight: NamedWeight;
    if (q) {
      const values = new Float32Array(count);
      if (q.dtype === 'uint8' || q.dtype === 'uint16') {
        const bytes = q.dtype === 'uint8' ? 1 : 2;
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        for (let i = 0; i < count; i++) {
          const stored = bytes === 1 ? data[offset + i] : data.readUInt16LE(offset + 2 * i);
          values[i] = stored * scale + min;
        }
        offset += count * bytes;
      } else if (q.dtype === 'float16') {
        for (let i = 0; i < count; i++) values[i] = halfToFloat(data.readUInt16LE(offset + 2 * i));
        offset += count * 2;
      } else throw new Error(`tfjs weight ${spec.name}: quantization ${q.dtype} is not supported`);
      if (spec.dtype !== 'float32')
        throw new Error(`tfjs weight ${spec.name}: quantized ${spec.dtype} is not supported`);
      weight = { values, shape: spec.shape };
    } else if (spec.dtype === 'float32' || spec.dtype === 'int32') {
      const bytes = data.subarray(offset, offset + count * 4);
      const copy = new ArrayBuffer(count * 4);
      new Uint8Array(copy).set(bytes);
      weight = { values: spec.dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy), shape: spec.shape };
      offset += count * 4;
    } else throw new Error(`tfjs weight ${spec.name}: dtype ${spec.dtype} is not supported`);
    weights.set(spec.name, weight);
  }
  if (offset !== data.length) throw new Error(`tfjs weights: ${data.length - offset} bytes left over`);
  return weights;
}

/** The weight files of a manifest's groups, read from `dir`, in manifest order. */
export function readWeightFiles(dir: string, groups: readonly TfjsWeightGroup[]): Promise<Buffer[]> {
  return Promise.all(groups.flatMap((group) => group.paths.map((p) => readFile(path.join(dir, p)))));
}

/** A SHA-256 over the manifest's text and its weight files: what keys a graph built from them. */
export async function tfjsWeightsHash(dir: string, manifestText: string, groups: readonly TfjsWeightGroup[]) {
  const hash = createHash('sha256').update(manifestText);
  for (const file of await readWeightFiles(dir, groups)) hash.update(file);
  return hash.digest('hex');
}

/** Reads a manifest's weight files from `dir` and decodes them. */
export async function readTfjsWeights(dir: string, groups: readonly TfjsWeightGroup[]): Promise<WeightMap> {
  return decodeTfjsWeights(
    groups.flatMap((group) => group.weights),
    Buffer.concat(await readWeightFiles(dir, groups)),
  );
}

/** A weight that must be there, with a clear error naming the model when it is not. */
export function weightOf(weights: WeightMap, name: string, model: string): NamedWeight {
  const weight = weights.get(name);
  if (!weight) throw new Error(`${model}: no weight ${name}`);
  return weight;
}
