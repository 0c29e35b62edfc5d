import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_ONNX_CACHE_DIR } from './onnx-model-cache.js';

/**
 * Where the ONNX graphs the engine builds from the packages' weights are kept between runs:
 * FACEPIPE_ONNX_CACHE, else ~/.cache/facepipe/onnx (DEFAULT_ONNX_CACHE_DIR), else, where that
 * cannot be created (a read-only home), <os.tmpdir()>/facepipe-onnx. Each file is named after the
 * network and a hash of what it is built from (weight files and builder version), so new weights or
 * a changed builder make a new file; a deleted folder is rebuilt on the next start. Nothing is
 * downloaded.
 */
export function onnxCacheDir(env: NodeJS.ProcessEnv = process.env, preferred = DEFAULT_ONNX_CACHE_DIR): string {
  const configured = env.FACEPIPE_ONNX_CACHE?.trim();
  if (configured) return configured;
  try {
    mkdirSync(preferred, { recursive: true });
    return preferred;
  } catch {
    return path.join(tmpdir(), 'facepipe-onnx');
  }
}

/** A SHA-256 of the inputs of a build, in order (file contents, builder version strings). */
export function buildKey(parts: ReadonlyArray<string | Uint8Array>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(typeof part === 'string' ? Buffer.from(part, 'utf8') : part).update('\0');
  return hash.digest('hex').slice(0, 16);
}
