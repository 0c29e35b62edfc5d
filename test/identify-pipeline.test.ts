/**
 * The identification pipeline end to end, in one process as `facepipe up` runs it: enroll a small
 * gallery, identify a folder of snapshots (people, a stranger, bad files), results valid against
 * the published schema, runs idempotent, the watermark. Real Redis, real models, folder storage.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../src/config/app-config.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import type { RunningIndexService } from '../src/index/index-service-runtime.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import type { IdentifyEnqueueReport } from '../src/queue/jobs.js';
import { ResultStore } from '../src/results/result-store.js';
import type { ResultJson } from '../src/results/result-types.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { startTestPipeline, type TestPipeline } from './support/pipeline.js';
import { assertValidResult } from './support/result-schema.js';
import { faceImage } from './support/sample-faces.js';

let dir: string;
let config: AppConfig;
let engine: FaceEngine;
let index: RunningIndexService;
let pipeline: TestPipeline;
/** When the night's first snapshots were taken. */
const old = new Date(Date.now() - 3600_000);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-identify-'));
  // The gallery: one photo each of A, B and C.
  for (const person of ['A', 'B', 'C'] as const) {
    await mkdir(path.join(dir, 'gallery', person), { recursive: true });
    await (await faceImage(person, 0.5)).jpeg().toFile(path.join(dir, 'gallery', person, '1.jpg'));
  }
  // The night: A and B in other photos (mirrored, brighter), D who is nobody, and two bad files.
  const night = path.join(dir, 'night', 'cam-1');
  await mkdir(night, { recursive: true });
  await (await faceImage('A', 1, true)).jpeg({ quality: 60 }).toFile(path.join(night, '0100.jpg'));
  await (await faceImage('B', 1, true)).jpeg({ quality: 60 }).toFile(path.join(night, '0200.jpg'));
  await (await faceImage('D', 1, true)).jpeg({ quality: 60 }).toFile(path.join(night, '0300.jpg'));
  await sharp({ create: { width: 320, height: 240, channels: 3, background: '#556677' } })
    .jpeg()
    .toFile(path.join(night, '0400.jpg'));
  await writeFile(path.join(night, '0500.jpg'), 'not a jpeg');
  for (const f of ['0100', '0200', '0300', '0400', '0500']) await utimes(path.join(night, `${f}.jpg`), old, old);

  config = loadAppConfig({ storage: path.join(dir, 'data'), queuePrefix: `fptest-${randomBytes(4).toString('hex')}` });
  engine = await FaceEngine.start({ threads: 1 });
  pipeline = await startTestPipeline(config, engine);
  ({ config, index } = pipeline);
});

afterAll(async () => {
  await pipeline?.close();
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

async function results(run: string): Promise<Map<string, ResultJson>> {
  const store = new ResultStore(new FolderStorage(config.storage));
  const byKey = new Map<string, ResultJson>();
  for await (const { resultKey, result } of store.read(run)) {
    assertValidResult(result, resultKey);
    byKey.set(result.input.key, result);
  }
  return byKey;
}

describe('identification pipeline', () => {
  it('names the enrolled people, not the stranger, writes a valid result for every snapshot, and re-runs add nothing', async () => {
    const enrolled = (await runEnroll(config, { source: path.join(dir, 'gallery'), wait: true })) as EnrollRunSummary;
    expect(enrolled).toMatchObject({ images: 3, enrolled: 3, persons: 3 });
    while (index.service.current.size < 3) await new Promise((resolve) => setTimeout(resolve, 50));

    const source = path.join(dir, 'night');
    const summary = (await runIdentify(config, {
      source,
      run: 'night-1',
      wait: true,
      chunkSize: 2,
    })) as IdentifyRunSummary;
    expect(summary).toMatchObject({
      run: 'night-1',
      snapshots: 5,
      failed: 1,
      errors: { NOT_AN_IMAGE: 1 },
      resultsPrefix: 'facepipe/results/night-1/',
    });
    expect(summary.faces).toBe(summary.identified + summary.unknown);

    const byKey = await results('night-1');
    expect([...byKey.keys()].sort()).toEqual([
      'cam-1/0100.jpg',
      'cam-1/0200.jpg',
      'cam-1/0300.jpg',
      'cam-1/0400.jpg',
      'cam-1/0500.jpg',
    ]);
    const named = (key: string) => byKey.get(key)!.faces.map((f) => f.personId);
    expect(named('cam-1/0100.jpg')).toContain('A');
    expect(named('cam-1/0200.jpg')).toContain('B');
    expect(named('cam-1/0300.jpg').filter((p) => p !== null)).toEqual([]);
    expect(byKey.get('cam-1/0400.jpg')).toMatchObject({ faces: [], error: null });
    expect(byKey.get('cam-1/0500.jpg')).toMatchObject({ faces: [], error: { code: 'NOT_AN_IMAGE' } });
    const faceA = byKey.get('cam-1/0100.jpg')!.faces.find((f) => f.personId === 'A')!;
    expect(faceA.matches[0]).toMatchObject({ personId: 'A' });
    expect(faceA.matches.length).toBe(3); // every person of the gallery, one entry each
    expect(faceA.landmarks).toHaveLength(5);
    expect(faceA.quality.size).toBeGreaterThan(50);

    // Where was A seen? Recorded by the worker as each result was written.
    const seen = (await (await fetch(`${index.url}/v1/persons/A/matches`)).json()) as {
      total: number;
      items: { key: string; run: string; resultKey: string }[];
    };
    expect(seen.total).toBe(1);
    expect(seen.items[0]).toMatchObject({
      key: 'cam-1/0100.jpg',
      run: 'night-1',
      resultKey: 'facepipe/results/night-1/cam-1/0100.jpg.json',
    });

    // The same run again: nothing new; a new run starts at the watermark: nothing either.
    const again = (await runIdentify(config, { source, run: 'night-1' })) as IdentifyEnqueueReport;
    expect(again).toMatchObject({ snapshots: 5, alreadyDone: 5, enqueued: 0, jobs: 0 });
    const next = (await runIdentify(config, { source })) as IdentifyEnqueueReport;
    expect(next).toMatchObject({ snapshots: 0, enqueued: 0 });
    expect(Math.abs(Date.parse(next.since!) - old.getTime())).toBeLessThan(1000); // night-1's newest snapshot

    // A snapshot that arrives later is the only one the following run takes.
    await (await faceImage('C', 1, true)).jpeg().toFile(path.join(source, 'cam-1', '0600.jpg'));
    const later = (await runIdentify(config, { source, run: 'night-2', wait: true })) as IdentifyRunSummary;
    expect(later).toMatchObject({ snapshots: 1, failed: 0 });
    expect((await results('night-2')).get('cam-1/0600.jpg')!.faces.map((f) => f.personId)).toContain('C');
  }, 180_000);

  it('refuses a bad run id or --since, naming what is wrong', async () => {
    await expect(runIdentify(config, { source: dir, run: 'a/b' })).rejects.toThrow(/run id "a\/b"/);
    await expect(runIdentify(config, { source: dir, since: 'yesterday' })).rejects.toThrow(/--since "yesterday"/);
  });
});
