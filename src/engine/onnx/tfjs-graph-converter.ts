import { OnnxGraphBuilder, type OnnxDim } from './onnx-graph-builder.js';
import { convAttributes, depthwiseToOnnx, floats, hwioToOihw, type TfPadding } from './onnx-layers.js';
import type { NamedWeight, WeightMap } from './onnx-types.js';

/** A node of a tfjs graph model's topology (model.json's modelTopology.node). */
export interface TfjsGraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfjsAttr>;
}

interface TfjsAttr {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  list?: { i?: string[]; s?: string[] };
  shape?: { dim?: { size: string }[] };
}

/**
 * A value while converting: a constant (kept as tfjs stores it until a consumer says how it is
 * used), or a tensor of the ONNX graph, 4-D ones in NCHW (`shape` then in NCHW order), others as
 * TensorFlow has them.
 */
type Value =
  | { kind: 'const'; weight: NamedWeight }
  | { kind: 'tensor'; name: string; layout: 'nchw' | 'plain'; shape: OnnxDim[] };
type Tensor = Extract<Value, { kind: 'tensor' }>;

/** The TensorFlow ops this converter translates (what Human's FaceRes uses, and their near kin). */
export const SUPPORTED_TFJS_OPS = [
  'Placeholder',
  'Const',
  'Identity',
  'Conv2D',
  'DepthwiseConv2dNative',
  'Add',
  'AddV2',
  'BiasAdd',
  'Sub',
  'Mul',
  'RealDiv',
  'Minimum',
  'Maximum',
  'Relu',
  'Relu6',
  'Sigmoid',
  'Tanh',
  'Mean',
  'MatMul',
  '_FusedMatMul',
  'Softmax',
] as const;

const BINARY: Record<string, string> = {
  Add: 'Add',
  AddV2: 'Add',
  BiasAdd: 'Add',
  Sub: 'Sub',
  Mul: 'Mul',
  RealDiv: 'Div',
  Minimum: 'Min',
  Maximum: 'Max',
};
const UNARY: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh' };

const text = (attr: TfjsAttr | undefined) => (attr?.s ? Buffer.from(attr.s, 'base64').toString('utf8') : undefined);
const ints = (attr: TfjsAttr | undefined) => (attr?.list?.i ?? []).map(Number);
/** A tfjs input reference without its output index ("name:0") and control-dependency marker ("^name"). */
const sourceOf = (input: string) => input.replace(/:\d+$/, '');

/**
 * Translates a tfjs graph model (the TensorFlow ops of model.json) into an ONNX graph, node by node,
 * for the outputs asked for (nodes nothing asked for are left out). TensorFlow's NHWC becomes ONNX's
 * NCHW: the 4-D input is transposed once at the start, filters are transposed, per-channel
 * constants reshaped and reduction axes renumbered; a 4-D output is transposed back. An op outside
 * SUPPORTED_TFJS_OPS, or an attribute this translation does not honour (dilations, other layouts,
 * explicit padding, transposed matmuls), stops the conversion with an error naming the node.
 */
export function convertTfjsGraph(
  name: string,
  nodes: readonly TfjsGraphNode[],
  weights: WeightMap,
  outputs: readonly string[],
): Uint8Array {
  const graph = new OnnxGraphBuilder(name);
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const values = new Map<string, Value>();
  const fail = (node: TfjsGraphNode, why: string): never => {
    throw new Error(`${name}: node ${node.name} (${node.op}): ${why}`);
  };

  const tensorOf = (value: Value, node: TfjsGraphNode): Tensor =>
    value.kind === 'tensor' ? value : fail(node, 'a constant where a computed tensor was expected');

  /** A constant as an operand of an elementwise op with `other`, in `other`'s layout. */
  const operand = (value: Value, other: Tensor | undefined, node: TfjsGraphNode): string => {
    if (value.kind === 'tensor') return value.name;
    const { weight } = value;
    const data = floats(weight, node.name);
    if (weight.shape.length === 0 || weight.shape.every((d) => d === 1)) return graph.constant('scalar', data, []);
    if (other?.layout === 'nchw') {
      if (weight.shape.length === 1) return graph.constant('channel', data, [data.length, 1, 1]);
      return fail(node, `a ${weight.shape.length}-D constant with an NCHW tensor`);
    }
    return graph.constant('const', data, weight.shape);
  };

  const resolve = (ref: string): Value => {
    const key = sourceOf(ref);
    const known = values.get(key);
    if (known) return known;
    const node = byName.get(key);
    if (!node) throw new Error(`${name}: no node ${key}`);
    const value = convert(node);
    values.set(key, value);
    return value;
  };

  const convert = (node: TfjsGraphNode): Value => {
    const attr = node.attr ?? {};
    const inputs = (node.input ?? []).filter((input) => !input.startsWith('^'));
    const input = (i: number) => resolve(inputs[i] ?? fail(node, `no input ${i}`));
    switch (node.op) {
      case 'Const': {
        const weight = weights.get(node.name);
        return weight ? { kind: 'const', weight } : fail(node, 'no weight of that name');
      }
      case 'Placeholder': {
        const dims: OnnxDim[] = (attr.shape?.shape?.dim ?? []).map((d) =>
          Number(d.size) < 0 ? 'batch' : Number(d.size),
        );
        const value = graph.input(node.name, dims);
        if (dims.length !== 4) return { kind: 'tensor', name: value, layout: 'plain', shape: dims };
        const [n, h, w, c] = dims;
        const nchw = graph.op('Transpose', [value], { perm: { ints: [0, 3, 1, 2] } });
        return { kind: 'tensor', name: nchw, layout: 'nchw', shape: [n, c, h, w] };
      }
      case 'Identity':
        return input(0);
      case 'Conv2D':
      case 'DepthwiseConv2dNative': {
        const x = tensorOf(input(0), node);
        const filter = input(1);
        if (filter.kind !== 'const') return fail(node, 'filters computed at run time');
        if (x.layout !== 'nchw') return fail(node, 'input is not 4-D');
        if ((text(attr.data_format) ?? 'NHWC') !== 'NHWC') fail(node, `data_format ${text(attr.data_format)}`);
        if (ints(attr.dilations).some((d) => d !== 1)) fail(node, 'dilated convolution');
        const padding = text(attr.padding)?.toLowerCase();
        if (padding !== 'same' && padding !== 'valid') return fail(node, `padding ${text(attr.padding)}`);
        const [, sy, sx] = ints(attr.strides);
        if (sy !== sx) fail(node, 'unequal strides');
        const [n, , h, w] = x.shape;
        if (typeof h !== 'number' || typeof w !== 'number') return fail(node, 'spatial size not fixed');
        const [kh, kw, inputs, outputs] = filter.weight.shape;
        const { pads, out } = convAttributes([h, w], [kh, kw], sy ?? 1, padding as TfPadding);
        const depthwise = node.op === 'DepthwiseConv2dNative';
        const values = floats(filter.weight, node.name);
        const channelsOut = depthwise ? inputs * outputs : outputs;
        const weight = graph.constant(
          'filters',
          depthwise ? depthwiseToOnnx(values, filter.weight.shape) : hwioToOihw(values, filter.weight.shape),
          depthwise ? [channelsOut, 1, kh, kw] : [outputs, inputs, kh, kw],
        );
        const y = graph.op('Conv', [x.name, weight], {
          ...(depthwise ? { group: { int: inputs } } : {}),
          kernel_shape: { ints: [kh, kw] },
          strides: { ints: [sy ?? 1, sx ?? 1] },
          pads: { ints: pads },
        });
        return { kind: 'tensor', name: y, layout: 'nchw', shape: [n, channelsOut, out[0], out[1]] };
      }
      case 'Relu6': {
        const x = tensorOf(input(0), node);
        const y = graph.op('Clip', [
          x.name,
          graph.constant('min', Float32Array.of(0), []),
          graph.constant('max', Float32Array.of(6), []),
        ]);
        return { ...x, name: y };
      }
      case 'Mean': {
        const x = tensorOf(input(0), node);
        const axes = input(1);
        if (axes.kind !== 'const') return fail(node, 'axes computed at run time');
        const rank = x.shape.length;
        const tfAxes = Array.from(axes.weight.values, (a) => (a < 0 ? a + rank : a));
        // TensorFlow's NHWC axis a is NCHW's [0, 2, 3, 1][a].
        const onnxAxes = x.layout === 'nchw' ? tfAxes.map((a) => [0, 2, 3, 1][a]) : tfAxes;
        const keep = attr.keep_dims?.b === true;
        const y = graph.op('ReduceMean', [x.name], { axes: { ints: onnxAxes }, keepdims: { int: keep ? 1 : 0 } });
        if (keep) return { ...x, name: y, shape: x.shape.map((d, i) => (onnxAxes.includes(i) ? 1 : d)) };
        const shape = x.shape.filter((_, i) => !onnxAxes.includes(i));
        // NCHW without its spatial axes is NC, TensorFlow's order too; other reductions would need a transpose.
        if (x.layout === 'nchw' && [...tfAxes].sort().join() !== '1,2') return fail(node, `a mean over axes ${tfAxes}`);
        return { kind: 'tensor', name: y, layout: 'plain', shape };
      }
      case 'MatMul':
      case '_FusedMatMul': {
        const a = tensorOf(input(0), node);
        const b = input(1);
        if (attr.transpose_a?.b || attr.transpose_b?.b) fail(node, 'transposed operands');
        if (a.layout !== 'plain') fail(node, 'a 4-D operand');
        let y = graph.op('MatMul', [a.name, operand(b, a, node)]);
        const columns = b.kind === 'const' ? b.weight.shape[1] : (b as Tensor).shape[1];
        const fused = (attr.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
        let extra = 2;
        for (const op of fused) {
          if (op === 'BiasAdd') y = graph.op('Add', [y, operand(input(extra++), a, node)]);
          else if (op === 'Relu') y = graph.op('Relu', [y]);
          else if (op === 'Relu6')
            y = graph.op('Clip', [
              y,
              graph.constant('min', Float32Array.of(0), []),
              graph.constant('max', Float32Array.of(6), []),
            ]);
          else fail(node, `fused op ${op}`);
        }
        return { kind: 'tensor', name: y, layout: 'plain', shape: [a.shape[0], columns] };
      }
      case 'Softmax': {
        const x = tensorOf(input(0), node);
        if (x.layout !== 'plain') fail(node, 'a 4-D input');
        return { ...x, name: graph.op('Softmax', [x.name], { axis: { int: -1 } }) };
      }
      default: {
        if (UNARY[node.op]) {
          const x = tensorOf(input(0), node);
          return { ...x, name: graph.op(UNARY[node.op], [x.name]) };
        }
        if (BINARY[node.op]) {
          const [a, b] = [input(0), input(1)];
          const tensor = a.kind === 'tensor' ? a : b.kind === 'tensor' ? b : fail(node, 'two constants');
          if (a.kind === 'tensor' && b.kind === 'tensor' && a.layout !== b.layout)
            fail(node, 'operands of two layouts');
          const y = graph.op(BINARY[node.op], [operand(a, tensor, node), operand(b, tensor, node)]);
          return { ...tensor, name: y };
        }
        return fail(node, 'no ONNX translation for this op');
      }
    }
  };

  for (const output of outputs) {
    const node = byName.get(output) ?? { name: output, op: '?' };
    const value = tensorOf(resolve(output), node);
    if (value.layout === 'nchw') {
      const [n, c, h, w] = value.shape;
      const nhwc = graph.op('Transpose', [value.name], { perm: { ints: [0, 2, 3, 1] } });
      graph.output(graph.alias(nhwc, output), [n, h, w, c]);
    } else graph.output(graph.alias(value.name, output), value.shape);
  }
  return graph.toBytes();
}
