import protobuf from 'protobufjs';

/**
 * Writes ONNX model files (protobuf) for the graphs the project builds from the weights its npm
 * packages ship. Only the part of onnx.proto these graphs use is declared here (field numbers as in
 * onnx/onnx.proto, IR version 8); protobufjs encodes it, so no protobuf bytes are written by hand.
 */
const ONNX_SUBSET = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensorType: { type: 'TensorTypeProto', id: 1 } } },
        TensorTypeProto: {
          fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } },
        },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'DimensionProto', id: 1 } } },
        DimensionProto: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
      },
    },
  },
};

const ModelProto = protobuf.Root.fromJSON(ONNX_SUBSET).lookupType('onnx.ModelProto');

/** ONNX TensorProto.DataType values this project writes. */
const DATA_TYPE = { float: 1, int32: 6, int64: 7 } as const;
/** ONNX AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

/** An attribute value, tagged because ONNX tells 1 (int) from 1.0 (float). */
export type OnnxAttribute =
  | { int: number }
  | { ints: readonly number[] }
  | { float: number }
  | { floats: readonly number[] }
  | { string: string };

/** A dimension: a size, or a name for a size chosen at run time (e.g. 'batch'). */
export type OnnxDim = number | string;

export type OnnxTensorData = Float32Array | Int32Array | BigInt64Array;

function dataTypeOf(data: OnnxTensorData): number {
  if (data instanceof Float32Array) return DATA_TYPE.float;
  if (data instanceof Int32Array) return DATA_TYPE.int32;
  return DATA_TYPE.int64;
}

function encodeAttribute(name: string, value: OnnxAttribute): Record<string, unknown> {
  if ('int' in value) return { name, type: ATTRIBUTE_TYPE.int, i: value.int };
  if ('ints' in value) return { name, type: ATTRIBUTE_TYPE.ints, ints: [...value.ints] };
  if ('float' in value) return { name, type: ATTRIBUTE_TYPE.float, f: value.float };
  if ('floats' in value) return { name, type: ATTRIBUTE_TYPE.floats, floats: [...value.floats] };
  return { name, type: ATTRIBUTE_TYPE.string, s: Buffer.from(value.string, 'utf8') };
}

function valueInfo(name: string, dims: readonly OnnxDim[]): Record<string, unknown> {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE.float,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Builds one float32 graph node by node. Names of intermediate values are generated; a graph builder
 * (one per network) wires them by the names `node` returns.
 */
export class OnnxGraphBuilder {
  private readonly nodes: Record<string, unknown>[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private readonly usedNames = new Set<string>();
  private counter = 0;

  constructor(
    private readonly graphName: string,
    /** ai.onnx opset the graph targets; onnxruntime-node 1.31 runs up to 21+. */
    private readonly opset = 17,
  ) {}

  /** A fresh value name with a readable prefix. */
  name(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.usedNames.has(name));
    this.usedNames.add(name);
    return name;
  }

  /** A float32 graph input of the given shape. */
  input(name: string, dims: readonly OnnxDim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  /** Declares a value computed by the graph as one of its outputs. */
  output(name: string, dims: readonly OnnxDim[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  /** A constant tensor (weights, shapes, axes) stored in the model file. */
  constant(prefix: string, data: OnnxTensorData, dims: readonly number[]): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new Error(`ONNX constant ${prefix}: ${data.length} values for dims [${dims.join(', ')}]`);
    }
    const name = this.name(prefix);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims: [...dims], dataType: dataTypeOf(data), rawData: bytes });
    return name;
  }

  /** Adds one operator; returns the names of its outputs (one unless `outputCount` says more). */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, OnnxAttribute> = {},
    outputCount = 1,
  ): string[] {
    const outputs = Array.from({ length: outputCount }, () => this.name(opType.toLowerCase()));
    this.nodes.push({
      name: outputs[0],
      opType,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attributes).map(([name, value]) => encodeAttribute(name, value)),
    });
    return outputs;
  }

  /** Shorthand for a one-output operator. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}): string {
    return this.node(opType, inputs, attributes)[0]!;
  }

  /** Renames a value to a fixed output name (an Identity node), so callers can fetch it by name. */
  alias(value: string, name: string): string {
    this.claim(name);
    this.nodes.push({ name, opType: 'Identity', input: [value], output: [name], attribute: [] });
    return name;
  }

  /** The model file's bytes, ready for `InferenceSession.create`. */
  toBytes(): Uint8Array {
    const model = {
      irVersion: 8,
      producerName: 'facepipe',
      opsetImport: [{ domain: '', version: this.opset }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    const problem = ModelProto.verify(model);
    if (problem) throw new Error(`ONNX graph ${this.graphName}: ${problem}`);
    return ModelProto.encode(ModelProto.fromObject(model)).finish();
  }

  private claim(name: string): void {
    if (this.usedNames.has(name)) throw new Error(`ONNX graph ${this.graphName}: name "${name}" used twice`);
    this.usedNames.add(name);
  }
}
