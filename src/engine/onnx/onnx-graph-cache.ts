import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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

/**
 * The graph `<name>-<key>.onnx` from the cache, or built by `build` and written there (atomically: a
 * temporary file renamed, as several worker threads may build it at once). A cache that cannot be
 * written (read-only disk) only costs the build at every start.
 */
export async function cachedGraph(
  name: string,
  key: string,
  build: () => Uint8Array | Promise<Uint8Array>,
  dir = onnxCacheDir(),
): Promise<{ bytes: Uint8Array; file: string; built: boolean }> {
  const file = path.join(dir, `${name}-${key}.onnx`);
  try {
    return { bytes: new Uint8Array(await readFile(file)), file, built: false };
  } catch {
    // not built yet
  }
  const bytes = await build();
  try {
    await mkdir(dir, { recursive: true });
    const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temp, bytes);
    await rename(temp, file);
  } catch {
    // cache not writable: the graph is used from memory
  }
  return { bytes, file, built: true };
}
