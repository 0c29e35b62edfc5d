import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedOnnxModel } from '../src/engine/onnx/onnx-model-cache.js';

describe('cachedOnnxModel', () => {
  let dir: string;
  beforeEach(async () => {
    dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'facepipe-onnx-cache-')), 'nested', 'cache');
  });
  afterEach(async () => {
    await rm(path.dirname(path.dirname(dir)), { recursive: true, force: true });
  });

  it('builds once per key: later calls reuse the file, concurrent first calls leave one whole file', async () => {
    let builds = 0;
    const build = async () => {
      builds++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return new Uint8Array(1000).fill(7);
    };
    const key = 'ab'.repeat(32);
    const files = await Promise.all([1, 2, 3].map(() => cachedOnnxModel(dir, 'net', key, build)));
    expect(new Set(files)).toEqual(new Set([path.join(dir, `net-${key.slice(0, 16)}.onnx`)]));
    expect(await readdir(dir)).toEqual([`net-${key.slice(0, 16)}.onnx`]);
    expect((await readFile(files[0])).equals(Buffer.alloc(1000, 7))).toBe(true);
    const before = builds;
    await cachedOnnxModel(dir, 'net', key, build);
    expect(builds).toBe(before);
    await cachedOnnxModel(dir, 'net', 'cd'.repeat(32), build);
    expect(builds).toBe(before + 1);
    expect((await readdir(dir)).sort()).toEqual([`net-${'ab'.repeat(8)}.onnx`, `net-${'cd'.repeat(8)}.onnx`]);
  });

  it('leaves no file behind when the build fails, so the next call builds again', async () => {
    await expect(
      cachedOnnxModel(dir, 'net', 'ef'.repeat(32), () => {
        throw new Error('no weights');
      }),
    ).rejects.toThrow('no weights');
    expect(await readdir(dir)).toEqual([]);
    await cachedOnnxModel(dir, 'net', 'ef'.repeat(32), () => Uint8Array.of(1));
    expect(await readdir(dir)).toEqual([`net-${'ef'.repeat(8)}.onnx`]);
  });
});
