import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AnalyzerOptions, ImageAnalysis } from '../engine/engine-types.js';
import type { ImageInput } from '../engine/types.js';
import { listImageFiles } from '../files/image-files.js';
import { errorJson } from '../errors/error-json.js';
import { forEachConcurrent } from '../util/for-each-concurrent.js';
import { writeFileAtomic } from './model-files.js';

/** The engine as the cache needs it (a stub in tests). */
export interface LargestFaceAnalyzer {
  analyze(input: ImageInput, options: { largestOnly?: boolean }): Promise<ImageAnalysis>;
}

export const EMBEDDING_CACHE_FORMAT = 'facepipe.embedding-cache/v1';
export const CACHE_JSON = 'embeddings.json';
export const CACHE_F32 = 'embeddings.f32';

interface CacheEntry {
  key: string;
  person: string;
  size: number;
  mtimeMs: number;
  /** Row in embeddings.f32, or null when the image gave no embedding (see error). */
  row: number | null;
  error?: string;
}

interface CacheJson {
  format: typeof EMBEDDING_CACHE_FORMAT;
  /** What made the vectors: model id and analyzer settings. A different one invalidates the cache. */
  embedder: { model: string; analyzer: AnalyzerOptions };
  dim: number;
  entries: CacheEntry[];
}

export interface LabelledEmbeddings {
  /** One per image with a face, in key order. */
  keys: string[];
  labels: string[];
  vectors: Float32Array[];
  /** Images without an embedding: no face, or unreadable (error code). */
  skipped: { key: string; error: string }[];
  /** Images whose vector came from the cache, and images embedded now. */
  cached: number;
  embedded: number;
  dim: number;
}

/**
 * The engine's embeddings of a labelled folder `<root>/<person>/<image>` (the largest face of each
 * image, as enrollment takes it), computed once and cached in `<cacheDir>/embeddings.json` +
 * `embeddings.f32`: a later run embeds only images that are new or changed (size, mtime), and
 * recomputes everything when the model or analyzer settings differ. Images directly under root
 * have no person and are left out.
 */
export async function labelledEmbeddings(
  engine: LargestFaceAnalyzer,
  root: string,
  cacheDir: string,
  options: {
    model: string;
    analyzer: AnalyzerOptions;
    concurrency: number;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<LabelledEmbeddings> {
  const files = (await listImageFiles([root])).filter((f) => f.key.includes('/'));
  if (files.length === 0) throw new Error(`${root}: no images in <person>/<image> sub-folders`);
  await mkdir(cacheDir, { recursive: true });
  const embedder = { model: options.model, analyzer: options.analyzer };
  const old = await readCache(cacheDir, embedder);

  const entries = new Map<string, CacheEntry>();
  const vectors = new Map<string, Float32Array>();
  let cached = 0;
  let embedded = 0;
  let done = 0;
  options.onProgress?.(0, files.length);
  await forEachConcurrent(files, options.concurrency, async ({ path: file, key }) => {
    const person = key.slice(0, key.indexOf('/'));
    const s = await stat(file);
    const hit = old?.entries.get(key);
    if (hit && hit.entry.size === s.size && hit.entry.mtimeMs === s.mtimeMs) {
      entries.set(key, { ...hit.entry, person });
      if (hit.vector) vectors.set(key, hit.vector);
      cached++;
    } else {
      let error: string | undefined;
      try {
        const face = (await engine.analyze(file, { largestOnly: true })).faces[0];
        if (face) vectors.set(key, face.embedding);
        else error = 'NO_FACE';
      } catch (err) {
        error = errorJson(err).code;
      }
      entries.set(key, { key, person, size: s.size, mtimeMs: s.mtimeMs, row: null, ...(error ? { error } : {}) });
      embedded++;
    }
    options.onProgress?.(++done, files.length);
  });

  const keys = files.map((f) => f.key).filter((k) => vectors.has(k));
  const dim = keys.length > 0 ? vectors.get(keys[0])!.length : (old?.dim ?? 0);
  const flat = new Float32Array(keys.length * dim);
  keys.forEach((k, row) => {
    flat.set(vectors.get(k)!, row * dim);
    entries.get(k)!.row = row;
  });
  const json: CacheJson = {
    format: EMBEDDING_CACHE_FORMAT,
    embedder,
    dim,
    entries: files.map((f) => entries.get(f.key)!),
  };
  await writeFileAtomic(path.join(cacheDir, CACHE_F32), new Uint8Array(flat.buffer));
  await writeFileAtomic(path.join(cacheDir, CACHE_JSON), `${JSON.stringify(json)}\n`);

  return {
    keys,
    labels: keys.map((k) => entries.get(k)!.person),
    vectors: keys.map((k) => vectors.get(k)!),
    skipped: json.entries.filter((e) => e.row === null).map((e) => ({ key: e.key, error: e.error ?? 'NO_FACE' })),
    cached,
    embedded,
    dim,
  };
}

async function readCache(
  dir: string,
  embedder: CacheJson['embedder'],
): Promise<{ dim: number; entries: Map<string, { entry: CacheEntry; vector?: Float32Array }> } | undefined> {
  try {
    const json = JSON.parse(await readFile(path.join(dir, CACHE_JSON), 'utf8')) as CacheJson;
    if (json.format !== EMBEDDING_CACHE_FORMAT || JSON.stringify(json.embedder) !== JSON.stringify(embedder))
      return undefined;
    const bytes = await readFile(path.join(dir, CACHE_F32));
    const flat = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const entries = new Map<string, { entry: CacheEntry; vector?: Float32Array }>();
    for (const entry of json.entries) {
      const vector = entry.row === null ? undefined : flat.slice(entry.row * json.dim, (entry.row + 1) * json.dim);
      if (vector && vector.length !== json.dim) return undefined; // truncated file: start again
      entries.set(entry.key, { entry, vector });
    }
    return { dim: json.dim, entries };
  } catch {
    return undefined;
  }
}
