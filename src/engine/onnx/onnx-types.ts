/** A weight tensor as the converters read it: values in row-major order of `shape` (tfjs's layout). */
export interface NamedWeight {
  values: Float32Array | Int32Array;
  shape: number[];
}

export type WeightMap = Map<string, NamedWeight>;

/** How a network's ONNX graph is built and run. */
export interface OnnxModelOptions {
  /** Where built graphs are kept, one file per network and weights hash (built on first use). */
  cacheDir: string;
  /** onnxruntime's intra-op threads per session: 1 in a worker pool (one session per thread). */
  intraOpNumThreads?: number;
  /** Let onnxruntime's intra-op threads spin while they wait (faster with >1 thread, burns CPU). */
  spinning?: boolean;
}
