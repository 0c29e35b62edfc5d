import { describe, expect, it } from 'vitest';
import { decodeTfjsWeights, halfToFloat } from '../src/engine/onnx/tfjs-weights.js';

describe('tfjs weight decoding', () => {
  it('widens float16 exactly: normal, subnormal, signed, infinite', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBe(0.333251953125);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });

  it('reads float32, int32, uint8-quantized and float16 weights in manifest order', () => {
    const data = Buffer.alloc(8 + 4 + 3 + 4);
    data.writeFloatLE(1.5, 0);
    data.writeFloatLE(-2, 4);
    data.writeInt32LE(-7, 8);
    data.set([0, 1, 255], 12);
    data.writeUInt16LE(0x3c00, 15);
    data.writeUInt16LE(0xc000, 17);
    const weights = decodeTfjsWeights(
      [
        { name: 'f', shape: [2], dtype: 'float32' },
        { name: 'i', shape: [], dtype: 'int32' },
        { name: 'q', shape: [3, 1], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
        { name: 'h', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
      ],
      data,
    );
    expect([...weights.get('f')!.values]).toEqual([1.5, -2]);
    expect([...weights.get('i')!.values]).toEqual([-7]);
    expect(weights.get('i')!.values).toBeInstanceOf(Int32Array);
    expect([...weights.get('q')!.values]).toEqual([-1, -0.5, 126.5]);
    expect(weights.get('q')!.shape).toEqual([3, 1]);
    expect([...weights.get('h')!.values]).toEqual([1, -2]);
  });

  it('refuses weight files longer than the manifest', () => {
    expect(() => decodeTfjsWeights([{ name: 'f', shape: [1], dtype: 'float32' }], Buffer.alloc(8))).toThrow(
      /4 bytes left over/,
    );
  });
});
