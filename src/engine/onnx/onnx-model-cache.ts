import { randomBytes } from 'node:crypto';
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Where graphs are cached when the caller names no folder: the user's cache (XDG layout). */
export const DEFAULT_ONNX_CACHE_DIR = path.join(os.homedir(), '.cache', 'facepipe', 'onnx');

/**
 * The path of a network's ONNX file in `cacheDir`, building it first if it is not there. The file
 * name carries the hash of the weights (and of the builder's version), so new weights or a changed
 * builder make a new file and a stale one is never run. Concurrent builders (one per worker thread)
 * each write a temporary file and rename it into place: the rename is atomic, the last one wins,
 * and every file that lands is whole.
 */
export async function cachedOnnxModel(
  cacheDir: string,
  network: string,
  key: string,
  build: () => Uint8Array | Promise<Uint8Array>,
): Promise<string> {
  const file = path.join(cacheDir, `${network}-${key.slice(0, 16)}.onnx`);
  const present = await stat(file).then(
    (s) => s.isFile() && s.size > 0,
    () => false,
  );
  if (present) return file;
  await mkdir(cacheDir, { recursive: true });
  const bytes = await build();
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, file);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
  return file;
}
