/**
 * `facepipe identify` takes the 1:N rule flags as `search` does: --identification-threshold and
 * --margin-weight travel with the run's jobs and decide its faces, so the result files' decision
 * (and who is named) follow them; a run without the flags keeps the workers' rule. Real Redis,
 * real engine, the CLI as its own process against an in-process index service and workers.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../src/config/app-config.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { ResultStore } from '../src/results/result-store.js';
import type { ResultJson } from '../src/results/result-types.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { lastJson, runCli } from './support/cli-process.js';
import { startTestPipeline, type TestPipeline } from './support/pipeline.js';
import { assertValidResult } from './support/result-schema.js';
import { faceImage } from './support/sample-faces.js';

const TIMEOUT = 180_000;
let dir: string;
let config: AppConfig;
let engine: FaceEngine;
let pipeline: TestPipeline;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-identify-rule-'));
  for (const person of ['A', 'B', 'C'] as const) {
    await mkdir(path.join(dir, 'gallery', person), { recursive: true });
    await (await faceImage(person, 0.5)).jpeg().toFile(path.join(dir, 'gallery', person, '1.jpg'));
  }
  await mkdir(path.join(dir, 'night', 'cam-1'), { recursive: true });
  await (await faceImage('A', 1, true)).jpeg({ quality: 60 }).toFile(path.join(dir, 'night', 'cam-1', '0100.jpg'));
  config = loadAppConfig({ storage: path.join(dir, 'data'), queuePrefix: `fptest-${randomBytes(4).toString('hex')}` });
  engine = await FaceEngine.start({ threads: 1 });
  pipeline = await startTestPipeline(config, engine);
  config = pipeline.config;
  const enrolled = (await runEnroll(config, { source: path.join(dir, 'gallery'), wait: true })) as EnrollRunSummary;
  expect(enrolled).toMatchObject({ enrolled: 3 });
  while (pipeline.index.service.current.size < 3) await new Promise((resolve) => setTimeout(resolve, 50));
}, TIMEOUT);

afterAll(async () => {
  await pipeline?.close();
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = () => ({
  REDIS_URL: config.redisUrl,
  FACEPIPE_STORAGE: config.storage,
  FACEPIPE_QUEUE_PREFIX: config.queuePrefix,
  FACEPIPE_INDEX_URL: config.indexUrl,
});

async function onlyResult(run: string): Promise<ResultJson> {
  const found: ResultJson[] = [];
  for await (const { resultKey, result } of new ResultStore(new FolderStorage(config.storage)).read(run)) {
    assertValidResult(result, resultKey);
    found.push(result);
  }
  expect(found).toHaveLength(1);
  return found[0];
}

describe('facepipe identify with the rule flags', () => {
  it('the workers rule decides a run without flags; the flags reach the result decision and who is named', {
    timeout: TIMEOUT,
  }, async () => {
    const night = path.join(dir, 'night');
    const plain = await runCli(['identify', night, '--run', 'plain', '--wait', '--json'], env());
    expect(plain.code, plain.stderr).toBe(0);
    const before = (await onlyResult('plain')).faces.find((f) => f.matches[0]?.personId === 'A')!;
    expect(before.personId).toBe('A');
    expect(before.decision).toMatchObject({
      threshold: FACE_MODEL.identification.threshold,
      marginWeight: FACE_MODEL.identification.marginWeight,
      maxDistance: FACE_MODEL.threshold,
    });

    // Margin weight 0 makes the score the distance itself; a threshold under it: the same face, now nobody.
    const threshold = Number((before.matches[0].distance - 0.05).toFixed(4));
    expect(threshold).toBeGreaterThan(0);
    const strict = await runCli(
      [
        'identify',
        night,
        '--run',
        'strict',
        '--since', // the night again, not only what came after the first run
        '1970-01-01T00:00:00Z',
        '--wait',
        '--json',
        '--identification-threshold',
        String(threshold),
        '--margin-weight',
        '0',
      ],
      env(),
    );
    expect(strict.code, strict.stderr).toBe(0);
    expect(lastJson(strict)).toMatchObject({ identified: 0 });
    const result = await onlyResult('strict');
    expect(result.model.threshold).toBe(threshold);
    const after = result.faces.find((f) => f.matches[0]?.personId === 'A')!;
    expect(after.decision).toMatchObject({ threshold, marginWeight: 0, maxDistance: FACE_MODEL.threshold });
    expect(after.personId).toBeNull();
  });

  it('a bad flag value is refused before anything is enqueued (exit 2)', { timeout: TIMEOUT }, async () => {
    const run = await runCli(['identify', path.join(dir, 'night'), '--identification-threshold', 'abc'], env());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/identification-threshold/);
  });
});
