import { loadEngineConfig, type EngineFlags } from '../config/engine-config.js';
import { resolveEmbeddingModel, type EmbeddingModel } from '../engine/embedding-model.js';
import type { EngineOptions } from '../engine/engine-types.js';
import { FaceEngine } from '../engine/face-engine.js';
import { logger } from '../logger.js';

/**
 * Starts the engine once for the command (its workers take seconds to load the models), runs `fn`,
 * and always closes it so that the worker threads let the process exit.
 */
export async function withEngine<T>(options: EngineOptions, fn: (engine: FaceEngine) => Promise<T>): Promise<T> {
  const started = performance.now();
  const engine = await FaceEngine.start(options);
  logger.info(
    { backend: engine.backend, threads: options.threads, startMs: Math.round(performance.now() - started) },
    `engine backend: ${engine.backend}`,
  );
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

/** Images kept in flight: enough to keep every worker busy while others' results come back. */
export function inFlight(options: EngineOptions): number {
  return 2 * options.threads;
}

/**
 * The deployment's embedding model for commands that run no engine of their own (enroll, identify,
 * serve's index): the engine's, followed by the adapter of --adapter / FACEPIPE_ADAPTER if set.
 */
export function deploymentModel(globals: EngineFlags): Promise<EmbeddingModel> {
  return resolveEmbeddingModel(loadEngineConfig(globals).adapter);
}
