/**
 * When a face was seen, end to end: snapshots back-filled a week after the night they show, one
 * with EXIF DateTimeOriginal, one whose key holds the time (FACEPIPE_CAPTURE_KEY_PATTERN, in
 * FACEPIPE_CAPTURE_TIME_ZONE), one with neither. Their results carry input.captured, capturedFrom
 * and camera, and the sightings the workers record are seen then, filterable by camera and by
 * since/until. Real Redis, the real detector (test-only pixel embedder: fast), folder storage.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppConfig, loadAppConfig } from '../src/config/app-config.js';
import { decodeImage } from '../src/engine/decode-image.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import type { RunningIndexService } from '../src/index/index-service-runtime.js';
import type { MatchPage } from '../src/matches/types.js';
import { type EnrollRunSummary, runEnroll } from '../src/producers/enroll-run.js';
import { type IdentifyRunSummary, runIdentify } from '../src/producers/identify-run.js';
import { ResultStore } from '../src/results/result-store.js';
import type { ResultJson } from '../src/results/result-types.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { PIXEL_CARD } from './support/pixel-embedder.js';
import { startTestPipeline, type TestPipeline } from './support/pipeline.js';
import { assertValidResult } from './support/result-schema.js';
import { faceImage, sample } from './support/sample-faces.js';

const PLUGIN = new URL('./support/pixel-embedder.ts', import.meta.url).href;
/** What the camera wrote: 02:15:07 on its clock, one hour ahead of UTC. */
const EXIF = { IFD2: { DateTimeOriginal: '2026:11:28 02:15:07', OffsetTimeOriginal: '+01:00' } };

let dir: string;
let config: AppConfig;
let engine: FaceEngine;
let index: RunningIndexService;
let pipeline: TestPipeline;
/** The upload of the export: today, long after the night. */
const uploaded = new Date(Date.now() - 600_000);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-captured-'));
  for (const person of ['A', 'B'] as const) {
    await mkdir(path.join(dir, 'gallery', person), { recursive: true });
    await (await faceImage(person, 0.5)).jpeg().toFile(path.join(dir, 'gallery', person, '1.jpg'));
  }
  const night = path.join(dir, 'night');
  const snapshots = {
    // EXIF says when; the key says 02:15:00 too, but EXIF (to the second, with its offset) wins.
    'export/2026-11-28/cam-03/021500.jpg': (await faceImage('A', 1, true)).jpeg({ quality: 80 }).withExif(EXIF),
    // No EXIF: the key says when, in Europe/Paris.
    'export/2026-11-28/cam-07/031000.jpg': (await faceImage('B', 1, true)).jpeg({ quality: 80 }),
    // Neither: last-modified; the camera is the folder.
    'misc/0100.jpg': (await faceImage('A', 1, true)).jpeg({ quality: 80 }),
  };
  for (const [key, image] of Object.entries(snapshots)) {
    const file = path.join(night, key);
    await mkdir(path.dirname(file), { recursive: true });
    await image.toFile(file);
    await utimes(file, uploaded, uploaded);
  }

  config = loadAppConfig({
    storage: path.join(dir, 'data'),
    queuePrefix: `fptest-${randomBytes(4).toString('hex')}`,
    captureKeyPattern: '{yyyy}-{MM}-{dd}/{camera}/{HH}{mm}{ss}.jpg',
    captureTimeZone: 'Europe/Paris',
  });
  engine = await FaceEngine.start({ threads: 1, card: PIXEL_CARD, plugins: [PLUGIN] });
  pipeline = await startTestPipeline(config, engine);
  ({ config, index } = pipeline);
}, 120_000);

afterAll(async () => {
  await pipeline?.close();
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

async function matches(personId: string, query = ''): Promise<MatchPage> {
  const res = await fetch(`${index.url}/v1/persons/${personId}/matches${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as MatchPage;
}

describe('capture time', () => {
  it('decodeImage reads DateTimeOriginal and its offset from an image that has them, and nothing otherwise', async () => {
    const withExif = await sharp(sample(1))
      .resize(64)
      .jpeg()
      .withExif({ IFD2: { ...EXIF.IFD2, SubSecTimeOriginal: '25' } })
      .toBuffer();
    expect((await decodeImage({ bytes: withExif, name: 'x.jpg' }, { maxPixels: 1e6 })).exifTime).toEqual({
      dateTimeOriginal: '2026-11-28T02:15:07.25',
      offsetTimeOriginal: '+01:00',
    });
    const noOffset = await sharp(sample(1))
      .resize(64)
      .jpeg()
      .withExif({ IFD2: { DateTimeOriginal: '2026:11:28 02:15:07' } })
      .toBuffer();
    expect((await decodeImage({ bytes: noOffset, name: 'x.jpg' }, { maxPixels: 1e6 })).exifTime).toEqual({
      dateTimeOriginal: '2026-11-28T02:15:07',
    });
    const plain = await sharp(sample(1)).resize(64).jpeg().toBuffer();
    expect((await decodeImage({ bytes: plain, name: 'x.jpg' }, { maxPixels: 1e6 })).exifTime).toBeUndefined();
  });

  it('results say when each snapshot was taken and from what; sightings are seen then, by camera', async () => {
    const enrolled = (await runEnroll(config, {
      model: engine.model,
      source: path.join(dir, 'gallery'),
      wait: true,
    })) as EnrollRunSummary;
    expect(enrolled).toMatchObject({ enrolled: 2, persons: 2 });
    while (index.service.current.size < 2) await new Promise((resolve) => setTimeout(resolve, 50));

    const summary = (await runIdentify(config, {
      model: engine.model,
      source: path.join(dir, 'night'),
      run: 'backfill',
      wait: true,
    })) as IdentifyRunSummary;
    expect(summary).toMatchObject({ snapshots: 3, failed: 0 });

    const byKey = new Map<string, ResultJson>();
    for await (const { resultKey, result } of new ResultStore(new FolderStorage(config.storage)).read('backfill')) {
      assertValidResult(result, resultKey);
      byKey.set(result.input.key, result);
    }
    const input = (key: string) => {
      const { captured, capturedFrom, camera } = byKey.get(key)!.input;
      return { captured, capturedFrom, camera };
    };
    expect(input('export/2026-11-28/cam-03/021500.jpg')).toEqual({
      captured: '2026-11-28T02:15:07.000+01:00',
      capturedFrom: 'exif',
      camera: 'cam-03',
    });
    expect(input('export/2026-11-28/cam-07/031000.jpg')).toEqual({
      captured: '2026-11-28T03:10:00.000+01:00',
      capturedFrom: 'key',
      camera: 'cam-07',
    });
    const modified = byKey.get('misc/0100.jpg')!.input.modified!;
    expect(Math.abs(Date.parse(modified) - uploaded.getTime())).toBeLessThan(1000);
    expect(input('misc/0100.jpg')).toEqual({ captured: modified, capturedFrom: 'modified', camera: 'misc' });
    expect(byKey.get('export/2026-11-28/cam-03/021500.jpg')!.faces.map((f) => f.personId)).toEqual(['A']);
    expect(byKey.get('export/2026-11-28/cam-07/031000.jpg')!.faces.map((f) => f.personId)).toEqual(['B']);

    // Where was A seen: at the EXIF time (UTC) on cam-03, and at the upload time in misc.
    const seenA = await matches('A');
    expect(seenA.items.map((m) => [m.key, m.seenAt, m.seenFrom, m.camera])).toEqual([
      ['misc/0100.jpg', new Date(modified).toISOString(), 'modified', 'misc'],
      ['export/2026-11-28/cam-03/021500.jpg', '2026-11-28T01:15:07.000Z', 'exif', 'cam-03'],
    ]);
    // On the night of the 28th (by capture time), not on the day of the upload.
    expect(await matches('A', '?since=2026-11-28&until=2026-11-29')).toMatchObject({
      total: 1,
      items: [{ key: 'export/2026-11-28/cam-03/021500.jpg' }],
    });
    expect((await matches('A', '?camera=cam-03')).items.map((m) => m.key)).toEqual([
      'export/2026-11-28/cam-03/021500.jpg',
    ]);
    expect((await matches('A', '?camera=cam-07')).total).toBe(0);
    expect(await matches('B', '?camera=cam-07&since=2026-11-28T02:10:00Z')).toMatchObject({
      total: 1,
      items: [{ seenAt: '2026-11-28T02:10:00.000Z', seenFrom: 'key', camera: 'cam-07' }],
    });
  }, 120_000);
});
