import os from 'node:os';
import type { EngineOptions, DetectionResult, EmbedResult, EngineWorkerData, ImageAnalysis } from './engine-types.js';
import { resolveEmbeddingModel, type EmbeddingModel } from './embedding-model.js';
import { MicroBatcher } from './micro-batcher.js';
import type { FaceChips } from './embedder.js';
import { FACE_MODEL_CARD } from './face-model.js';
import type { StageTimings } from './stage-timings.js';
import type { ImageInput } from './types.js';
import { WorkerPool } from './worker-pool.js';
import { DEFAULT_MAX_PIXELS } from './decode-image.js';

export type EngineOverrides = Partial<Omit<EngineOptions, 'analyzer'>> & {
  analyzer?: Partial<EngineOptions['analyzer']>;
};

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  threads: os.availableParallelism(),
  maxBatch: 32,
  maxWaitMs: 10,
  maxPixels: DEFAULT_MAX_PIXELS,
  analyzer: { detector: 'auto', minFaceSize: 20, flipTta: true },
};

/** One face's embedding and its share of its batch's stage times. */
interface EmbeddedFace {
  embedding: Float32Array;
  timings: StageTimings;
}

/**
 * The engine's one async API. Images are decoded and detected in a pool of worker threads; the
 * aligned faces of all concurrent callers meet in one micro-batcher so a forward pass serves many.
 */
export class FaceEngine {
  private constructor(
    private readonly pool: WorkerPool,
    private readonly batcher: MicroBatcher<FaceChips, EmbeddedFace>,
    /** The backend the workers run, e.g. "onnx (onnxruntime-node 1.31.1) + wasm" or "wasm". */
    readonly backend: string,
    readonly options: EngineOptions,
    /** What its embeddings are: the card's, or them followed by the adapter of options.adapter. */
    readonly model: EmbeddingModel,
    /** Embedding batches sent and faces in them: facesEmbedded / forwardPasses is the batch size reached. */
    readonly stats: { readonly forwardPasses: number; readonly facesEmbedded: number },
  ) {}

  static async start(overrides: EngineOverrides = {}): Promise<FaceEngine> {
    const options: EngineOptions = {
      ...DEFAULT_ENGINE_OPTIONS,
      ...overrides,
      analyzer: { ...DEFAULT_ENGINE_OPTIONS.analyzer, ...overrides.analyzer },
    };
    const card = options.card ?? FACE_MODEL_CARD;
    // Validates the adapter (a clear error) before any thread starts loading it.
    const model = await resolveEmbeddingModel(options.adapter, card);
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const pool = new WorkerPool({
      script: new URL(`./engine-worker${ext}`, import.meta.url),
      size: Math.max(1, options.threads),
      name: 'facepipe-engine',
      workerData: {
        backend: options.backend,
        ...(options.onnxThreading ? { onnxThreading: options.onnxThreading } : {}),
        maxPixels: options.maxPixels,
        analyzer: options.analyzer,
        adapter: model.adapter?.dir,
        card,
        plugins: options.plugins ?? [],
      } satisfies EngineWorkerData,
    });
    await pool.ready();
    const backend = await pool.run<string>('backend', null);
    const stats = { forwardPasses: 0, facesEmbedded: 0 };
    const batcher = new MicroBatcher<FaceChips, EmbeddedFace>({
      maxBatch: options.maxBatch,
      maxWaitMs: options.maxWaitMs,
      process: async (chips) => {
        stats.forwardPasses++;
        stats.facesEmbedded += chips.length;
        // Each chip moves to the worker (transfer, no copy); nothing here reads it again. A face may
        // hold one chip twice (two specs alike), and a transfer list refuses duplicates.
        const buffers = [...new Set(chips.flat().map((chip) => chip.buffer as ArrayBuffer))];
        const { embeddings, timings } = await pool.run<EmbedResult>('embed', chips, buffers, true);
        // Each face's share of the batch's time.
        const share: StageTimings = {};
        for (const [stage, ms] of Object.entries(timings)) share[stage] = ms / chips.length;
        return embeddings.map((embedding) => ({ embedding, timings: share }));
      },
    });
    return new FaceEngine(pool, batcher, backend, options, model, stats);
  }

  /** Faces with boxes, scores and 68 landmarks. Rejects with a FaceError for a bad input. */
  async detect(input: ImageInput): Promise<Omit<DetectionResult, 'chips'>> {
    const { chips: _chips, ...detection } = await this.pool.run<DetectionResult>('detect', input);
    return detection;
  }

  /**
   * Faces with their embeddings: every face, or with `largestOnly` just the largest one (what
   * enrollment keeps; the others are not embedded at all). `facesDetected` counts them all.
   * Rejects with a FaceError for a bad input.
   */
  async analyze(input: ImageInput, options: { largestOnly?: boolean } = {}): Promise<ImageAnalysis> {
    const { chips, ...detection } = await this.pool.run<DetectionResult>('detect', input);
    let picked = detection.faces.map((_, i) => i);
    if (options.largestOnly && picked.length > 1) {
      const area = (i: number) => detection.faces[i].box.width * detection.faces[i].box.height;
      picked = [picked.reduce((best, i) => (area(i) > area(best) ? i : best))];
    }
    const embedded = await Promise.all(picked.map((i) => this.batcher.add(chips[i])));
    const timings: StageTimings = { ...detection.timings };
    for (const face of embedded) {
      for (const [stage, ms] of Object.entries(face.timings)) timings[stage] = (timings[stage] ?? 0) + ms;
    }
    return {
      width: detection.width,
      height: detection.height,
      facesDetected: detection.faces.length,
      faces: picked.map((i, j) => ({ ...detection.faces[i], embedding: embedded[j].embedding })),
      timings,
      ...(detection.exifTime ? { exifTime: detection.exifTime } : {}),
    };
  }

  async close(): Promise<void> {
    await this.batcher.close();
    await this.pool.close();
  }
}
