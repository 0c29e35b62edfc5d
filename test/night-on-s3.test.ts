/**
 * The whole night with everything on S3 (a local s3rver): enroll an archive from `s3://`, identify a
 * night from `s3://`, results written to S3, `matches rebuild` and `index rebuild` from S3; every
 * result valid against the published schema, and every count the same as the same run on a folder.
 * Real Redis, real models; `matches rebuild` and `index rebuild` run as CLI processes.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../src/config/app-config.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { MatchStore } from '../src/matches/match-store.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import { matchKeyPrefix } from '../src/queue/queue-names.js';
import { ResultStore } from '../src/results/result-store.js';
import { listAll } from '../src/storage/list-all.js';
import { S3Storage } from '../src/storage/s3-storage.js';
import type { Storage } from '../src/storage/storage.js';
import { lastJson, runCli } from './support/cli-process.js';
import { startTestPipeline } from './support/pipeline.js';
import { assertValidResult } from './support/result-schema.js';
import { faceImage } from './support/sample-faces.js';
import { useStorageImplementations } from './support/storage-implementations.js';

const storages = useStorageImplementations({ bucketPrefix: 'facepipe-night', folderPrefix: 'facepipe-night-' });
const [folder, s3] = storages.implementations;

let engine: FaceEngine;
let redis: Redis;

beforeAll(async () => {
  engine = await FaceEngine.start({ threads: 1 });
  redis = new Redis('redis://127.0.0.1:6379');
});

afterAll(async () => {
  await engine?.close();
  redis?.disconnect();
});

/** The archive (A, B, C: one photo each) and the night (A, B, the stranger D, a blank frame, a text file). */
async function putInputs(inputs: Storage): Promise<void> {
  for (const person of ['A', 'B', 'C'] as const)
    await inputs.put(`archive/${person}/1.jpg`, await (await faceImage(person, 0.5)).jpeg().toBuffer());
  const night = async (name: string, bytes: Uint8Array) => inputs.put(`night/cam-1/${name}`, bytes);
  await night('0100.jpg', await (await faceImage('A', 1, true)).jpeg({ quality: 60 }).toBuffer());
  await night('0200.jpg', await (await faceImage('B', 1, true)).jpeg({ quality: 60 }).toBuffer());
  await night('0300.jpg', await (await faceImage('D', 1, true)).jpeg({ quality: 60 }).toBuffer());
  await night(
    '0400.jpg',
    await sharp({ create: { width: 320, height: 240, channels: 3, background: '#556677' } })
      .jpeg()
      .toBuffer(),
  );
  await night('0500.jpg', new TextEncoder().encode('not a jpeg'));
}

/** `<storage url>/<sub>`: an S3 URL ends with '/', a file:// URL does not. */
const under = (storage: Storage, sub: string) => `${storage.url.replace(/\/$/, '')}/${sub}`;

interface NightOutcome {
  enrolled: Pick<EnrollRunSummary, 'images' | 'enrolled' | 'failed' | 'persons' | 'errors'>;
  identified: Pick<IdentifyRunSummary, 'snapshots' | 'faces' | 'identified' | 'unknown' | 'failed' | 'errors'>;
  /** Input key -> the persons named in its result (null: nobody), or its error code. */
  named: Record<string, (string | null)[] | string>;
  /** Objects under each top-level folder of the deployment's storage. */
  stored: Record<string, number>;
  /** Sightings per person, as recorded by the workers, and again after `matches rebuild`. */
  sightings: Record<string, number>;
  rebuiltSightings: Record<string, number>;
  matchesRebuild: { results: number; faces: number; skipped: number };
  indexRebuild: { faces: number; persons: number };
}

/** The night, end to end, with the deployment's storage and its inputs on `storage`'s kind. */
async function wholeNight(fresh: () => Storage): Promise<NightOutcome> {
  const inputs = fresh();
  const data = fresh();
  await putInputs(inputs);
  const pipeline = await startTestPipeline(
    loadAppConfig({ storage: data.url, queuePrefix: `fptest-${randomBytes(4).toString('hex')}` }),
    engine,
  );
  try {
    const { config, index } = pipeline;
    const enrolled = (await runEnroll(config, { source: under(inputs, 'archive'), wait: true })) as EnrollRunSummary;
    while (index.service.current.size < enrolled.enrolled) await new Promise((resolve) => setTimeout(resolve, 50));
    const identified = (await runIdentify(config, {
      source: under(inputs, 'night'),
      run: 'night-1',
      wait: true,
      chunkSize: 2,
    })) as IdentifyRunSummary;

    // Every result, read back from the deployment's storage, valid against the schema.
    const named: NightOutcome['named'] = {};
    for await (const { resultKey, result } of new ResultStore(data).read('night-1')) {
      assertValidResult(result, resultKey);
      named[result.input.key] = result.error?.code ?? result.faces.map((face) => face.personId);
    }
    const stored: Record<string, number> = {};
    for await (const { key } of listAll(data, 'facepipe/')) {
      const top = key.split('/').slice(0, 2).join('/');
      stored[top] = (stored[top] ?? 0) + 1;
    }

    const matches = new MatchStore(redis, matchKeyPrefix(config));
    const persons = [...(await new GalleryStore(data, engine.model.id).persons()).keys()].sort();
    const count = async () => {
      const out: Record<string, number> = {};
      for (const person of persons) out[person] = (await matches.query(person)).total;
      return out;
    };
    const sightings = await count();

    // The operator's commands, as processes, on the same storage and Redis.
    const env = {
      FACEPIPE_STORAGE: data.url,
      FACEPIPE_QUEUE_PREFIX: config.queuePrefix,
      FACEPIPE_INDEX_URL: config.indexUrl,
    };
    await matches.clear();
    const matchesRun = await runCli(['matches', 'rebuild', '--json'], env);
    expect(matchesRun.code, matchesRun.stderr).toBe(0);
    const rebuiltSightings = await count();
    const indexRun = await runCli(['index', 'rebuild', '--json'], env);
    expect(indexRun.code, indexRun.stderr).toBe(0);

    const pick = <T extends object, K extends keyof T>(value: T, keys: K[]) =>
      Object.fromEntries(keys.map((key) => [key, value[key]])) as Pick<T, K>;
    return {
      enrolled: pick(enrolled, ['images', 'enrolled', 'failed', 'persons', 'errors']),
      identified: pick(identified, ['snapshots', 'faces', 'identified', 'unknown', 'failed', 'errors']),
      named,
      stored,
      sightings,
      rebuiltSightings,
      matchesRebuild: pick(lastJson(matchesRun), ['results', 'faces', 'skipped']),
      indexRebuild: pick(lastJson(indexRun), ['faces', 'persons']),
    };
  } finally {
    await pipeline.close();
  }
}

describe('the whole night on S3', () => {
  it('enrolls, identifies and rebuilds from s3:// with the same outcome as on a folder', async () => {
    const onFolder = await wholeNight(folder.fresh);
    const onS3 = await wholeNight(s3.fresh);

    // The run did what it should (on the folder, the reference).
    expect(onFolder.enrolled).toMatchObject({ images: 3, enrolled: 3, failed: 0, persons: 3 });
    expect(onFolder.identified).toMatchObject({ snapshots: 5, failed: 1, errors: { NOT_AN_IMAGE: 1 } });
    expect(onFolder.named['cam-1/0100.jpg']).toContain('A');
    expect(onFolder.named['cam-1/0200.jpg']).toContain('B');
    expect(onFolder.named['cam-1/0500.jpg']).toBe('NOT_AN_IMAGE');
    expect(onFolder.sightings).toEqual({ A: 1, B: 1, C: 0 });
    expect(onFolder.rebuiltSightings).toEqual(onFolder.sightings);
    expect(onFolder.indexRebuild).toEqual({ faces: 3, persons: 3 });
    expect(onFolder.stored).toMatchObject({ 'facepipe/results': 5 });

    // Everything the same on S3, and written there.
    expect(onS3).toEqual(onFolder);
    // The results are objects in the bucket, under the deployment's prefix.
    const bucket = s3.fresh() as S3Storage;
    let results = 0;
    for await (const { key } of listAll(new S3Storage(`s3://${bucket.bucket}/`), `${storages.runId}/`))
      if (/\/facepipe\/results\/night-1\/cam-1\/0[1-5]00\.jpg\.json$/.test(key)) results++;
    expect(results).toBe(5);
  }, 180_000);
});
