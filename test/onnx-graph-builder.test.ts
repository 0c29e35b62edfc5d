import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../src/engine/onnx/onnx-graph-builder.js';

describe('OnnxGraphBuilder', () => {
  it('writes a model onnxruntime runs: a 3x3 convolution with bias, then ReLU', async () => {
    const graph = new OnnxGraphBuilder('conv-relu');
    const x = graph.input('x', ['batch', 1, 4, 4]);
    // One output channel; weights 1..9 so every position of the kernel matters.
    const w = graph.constant(
      'w',
      Float32Array.from({ length: 9 }, (_, i) => i + 1),
      [1, 1, 3, 3],
    );
    const b = graph.constant('b', Float32Array.of(-100), [1]);
    const conv = graph.op('Conv', [x, w, b], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } });
    graph.output(graph.alias(graph.op('Relu', [conv]), 'y'), ['batch', 1, 4, 4]);

    const session = await ort.InferenceSession.create(graph.toBytes());
    const input = Float32Array.from({ length: 16 }, (_, i) => i);
    const { y } = await session.run({ x: new ort.Tensor('float32', input, [1, 1, 4, 4]) });

    const expected = new Float32Array(16);
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) {
        let sum = -100;
        for (let kr = 0; kr < 3; kr++) {
          for (let kc = 0; kc < 3; kc++) {
            const rr = r + kr - 1;
            const cc = c + kc - 1;
            if (rr >= 0 && rr < 4 && cc >= 0 && cc < 4) sum += input[rr * 4 + cc]! * (kr * 3 + kc + 1);
          }
        }
        expected[r * 4 + c] = Math.max(0, sum);
      }
    }
    expect(y!.dims).toEqual([1, 1, 4, 4]);
    expect(Array.from(y!.data as Float32Array)).toEqual(Array.from(expected));
    expect(expected.some((v) => v === 0) && expected.some((v) => v > 0)).toBe(true);
  });

  it('refuses a constant whose values do not fill its dims', () => {
    const graph = new OnnxGraphBuilder('bad');
    expect(() => graph.constant('w', new Float32Array(5), [2, 3])).toThrow(/w: 5 values for dims \[2, 3\]/);
  });
});
