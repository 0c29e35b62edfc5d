import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASE_MODEL, resolveEmbeddingModel } from '../src/engine/embedding-model.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { keySegment } from '../src/storage/key-segment.js';
import { selectBackend, type BackendName } from '../src/engine/tf-backend.js';
import { EmbeddingAdapter } from '../src/training/embedding-adapter.js';
import { runCli } from './support/cli-process.js';

describe('facepipe demo (npm run demo)', () => {
  it('enrolls, identifies and answers "where was this person seen", from npm-shipped images alone', async () => {
    const run = await runCli(['--threads', '2', 'demo']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/6 of 6 photos enrolled, 6 persons/);
    expect(run.stdout).toMatch(/4 snapshots, \d+ faces: \d+ identified, \d+ unknown/);
    const named = Number(/named correctly: (\d+) of 6/.exec(run.stdout)?.[1]);
    expect(named).toBeGreaterThanOrEqual(4);
    expect(run.stdout).toMatch(/facepipe matches guest-01\n {2}1 sighting/);
  }, 180_000);

  it("with --adapter the whole pipeline runs under the adapter's model: its gallery, its index, its results", async () => {
    // A fresh residual adapter is the normalised embedding itself: the same people, another model id.
    const { tf } = await selectBackend(process.env.FACEPIPE_BACKEND as BackendName | undefined);
    const adapterDir = path.join(os.tmpdir(), `facepipe-demo-adapter-${process.pid}`);
    const size = FACE_MODEL.embeddingSize;
    const adapter = EmbeddingAdapter.create(
      tf,
      { inputSize: size, hiddenSize: 8, outputSize: size, residual: true },
      { baseModel: FACE_MODEL.id },
    );
    // The plain threshold carried over to unit vectors (their norms are about 1.44).
    await adapter.save(adapterDir, { verificationThreshold: FACE_MODEL.threshold / 1.44 });
    adapter.dispose();
    const model = await resolveEmbeddingModel(adapterDir);
    let dir: string | undefined;
    try {
      const run = await runCli(['--threads', '2', '--adapter', adapterDir, 'demo', '--keep']);
      expect(run.code, run.stderr).toBe(0);
      dir = /demo data in (\S+)/.exec(run.stdout)?.[1];
      expect(dir).toBeDefined();
      expect(run.stdout).toMatch(/6 of 6 photos enrolled, 6 persons/);
      expect(Number(/named correctly: (\d+) of 6/.exec(run.stdout)?.[1])).toBeGreaterThanOrEqual(3);

      const galleries = await readdir(path.join(dir!, 'data/facepipe/gallery'));
      expect(galleries).toEqual([keySegment(model.id)]); // nothing under the plain model
      expect(galleries).not.toContain(keySegment(BASE_MODEL.id));
      const segments = path.join(dir!, 'data/facepipe/gallery', galleries[0], 'segments');
      const records = (
        await Promise.all((await readdir(segments)).map((f) => readFile(path.join(segments, f), 'utf8')))
      )
        .flatMap((text) => text.trim().split('\n'))
        .map((line) => JSON.parse(line));
      expect(records).toHaveLength(6);
      for (const r of records) {
        expect(r.model).toBe(model.id);
        expect(r.embedding).toHaveLength(size);
        expect(Math.hypot(...r.embedding)).toBeCloseTo(1, 4);
      }
      const resultFiles = (await readdir(path.join(dir!, 'data/facepipe/results'), { recursive: true })).filter((f) =>
        f.endsWith('.json'),
      );
      expect(resultFiles.length).toBe(4);
      for (const f of resultFiles) {
        const result = JSON.parse(await readFile(path.join(dir!, 'data/facepipe/results', f), 'utf8'));
        expect(result.model.id).toBe(model.id);
        expect(result.model.threshold).toBeCloseTo(model.identification.threshold);
      }
    } finally {
      await rm(adapterDir, { recursive: true, force: true });
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
