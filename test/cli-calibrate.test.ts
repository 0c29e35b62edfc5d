/**
 * `facepipe calibrate` end to end: a small gallery (four people cropped from face-api's demo
 * photos) served with the real engine, two group photos of other people as strangers, labelled
 * second photos of the enrolled people as mated probes; the CLI runs as a real process against the
 * service, prints the threshold, and with --apply stores it where an index service started on the
 * same deployment (real Redis, random prefix) reads it at start and follows its changes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../src/config/app-config.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { IdentificationSettingsStore } from '../src/identification/identification-settings-store.js';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { startIndexService } from '../src/index/index-service-runtime.js';
import { changeLogKey } from '../src/queue/queue-names.js';
import { openStorage } from '../src/storage/open-storage.js';
import { lastJson, runCli } from './support/cli-process.js';
import { faceImage, type Person, sample } from './support/sample-faces.js';

const TIMEOUT = 180_000;
const ENROLLED: Person[] = ['A', 'B', 'C', 'D'];

describe('facepipe calibrate', () => {
  let engine: FaceEngine;
  let app: FastifyInstance;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    engine = await FaceEngine.start({ threads: 1 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-calibrate-'));
    const index = new FaceIndex({ dim: FACE_MODEL.embeddingSize });
    for (const person of ENROLLED) {
      const bytes = await (await faceImage(person, 0.5)).jpeg().toBuffer();
      const { faces } = await engine.analyze({ bytes, name: person }, { largestOnly: true });
      index.add([{ faceId: `${person}-f0`, personId: person, embedding: faces[0].embedding }]);
      // A second photo of them (mirrored, re-lit), labelled by folder; and one of a person not enrolled.
      await mkdir(path.join(dir, 'mated', person), { recursive: true });
      await (await faceImage(person, 0.5, true)).jpeg().toFile(path.join(dir, 'mated', person, 'second.jpg'));
    }
    await mkdir(path.join(dir, 'mated', 'nobody'), { recursive: true });
    await (await faceImage('A', 0.5)).jpeg().toFile(path.join(dir, 'mated', 'nobody', 'a.jpg'));
    // Strangers: every face of two group photos none of the four is in, cropped (small photos keep the CLI runs fast).
    await mkdir(path.join(dir, 'strangers/night'), { recursive: true });
    for (const n of [1, 3]) {
      const { width, height, faces } = await engine.analyze(sample(n));
      for (const [i, { box }] of faces.entries()) {
        const left = Math.max(0, Math.round(box.x - box.width / 2));
        const top = Math.max(0, Math.round(box.y - box.height / 2));
        await sharp(sample(n))
          .extract({
            left,
            top,
            width: Math.min(width - left, Math.round(box.width * 2)),
            height: Math.min(height - top, Math.round(box.height * 2)),
          })
          .jpeg()
          .toFile(path.join(dir, 'strangers/night', `sample${n}-${i}.jpg`));
      }
    }

    app = buildIndexServer({
      index,
      threshold: FACE_MODEL.threshold,
      rule: FACE_MODEL.identification,
      model: FACE_MODEL.id,
      analyze: (input) => engine.analyze(input),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }, TIMEOUT);
  afterAll(async () => {
    await app?.close();
    await engine?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints the threshold that holds FPIR at the target for this gallery and the TPIR it leaves; --apply stores it', {
    timeout: TIMEOUT,
  }, async () => {
    const storage = path.join(dir, 'data');
    const args = ['--index-url', url, '--storage', storage];
    const run = await runCli([
      'calibrate',
      '--strangers',
      path.join(dir, 'strangers'),
      '--target-fpir',
      '0.25',
      '--mated',
      path.join(dir, 'mated'),
      '--apply',
      '--json',
      ...args,
    ]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    const out = lastJson(run);
    expect(out).toMatchObject({
      model: FACE_MODEL.id,
      galleryPersons: 4,
      targetFpir: 0.25,
      strangerImages: expect.any(Number),
      marginWeight: FACE_MODEL.identification.marginWeight,
      maxDistance: FACE_MODEL.threshold,
      previousThreshold: FACE_MODEL.identification.threshold,
      matedImages: 5,
      mated: 4,
      matedNotEnrolled: ['nobody'],
      failed: [],
      applied: true,
    });
    expect(out.strangers).toBeGreaterThanOrEqual(4); // a face in each crop
    expect(out.strangers).toBe(out.strangerImages);
    expect(out.tooFewStrangers).toBe(false);
    expect(out.fpir).toBeLessThanOrEqual(0.25);
    expect(out.strangersNamed).toBe(Math.round(out.fpir * out.strangers));
    expect(out.tpir).toBe(1); // their second photos stand out from every stranger
    expect(out.threshold).toBeGreaterThan(0);
    expect(out.threshold).toBeLessThanOrEqual(FACE_MODEL.threshold);

    // The live service at that threshold names exactly the strangers calibrate counted.
    let named = 0;
    const strangerDir = path.join(dir, 'strangers/night');
    for (const file of await readdir(strangerDir)) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/identify?k=1&threshold=${out.threshold}`,
        headers: { 'content-type': 'image/jpeg' },
        payload: await readFile(path.join(strangerDir, file)),
      });
      named += (res.json() as { faces: Array<{ personId: string | null }> }).faces.filter((f) => f.personId).length;
    }
    expect(named).toBe(out.strangersNamed);

    // Stored as the deployment's rule, with how it was chosen.
    const stored = await new IdentificationSettingsStore(openStorage(storage), FACE_MODEL.id).read();
    expect(stored).toMatchObject({
      threshold: out.threshold,
      marginWeight: FACE_MODEL.identification.marginWeight,
      calibration: { targetFpir: 0.25, strangers: out.strangers, tpir: 1, mated: 4, galleryPersons: 4 },
    });

    // The human summary.
    const human = await runCli([
      'calibrate',
      '--strangers',
      path.join(dir, 'strangers'),
      '--target-fpir',
      '0.05',
      ...args,
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^threshold \d\.\d{4} \(margin weight 1\.5, distance cap 0\.650/m);
    expect(human.stdout).toMatch(/^FPIR [\d.]+% \(\d+\/\d+ strangers named\), target 5\.00%$/m);
    expect(human.stdout).toMatch(/not applied/);
  });

  it('refuses a source without images and a bad target by name', { timeout: TIMEOUT }, async () => {
    const empty = path.join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    const run = await runCli(['calibrate', '--strangers', empty, '--target-fpir', '0.01', '--index-url', url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${empty}: no image found`);
    const bad = await runCli(['calibrate', '--strangers', empty, '--target-fpir', '2', '--index-url', url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--target-fpir/);
  });

  it('an index service reads the applied rule at start and follows its changes', { timeout: TIMEOUT }, async () => {
    const storage = path.join(dir, 'deployment');
    const store = new IdentificationSettingsStore(openStorage(storage), FACE_MODEL.id);
    await store.write({ schema: 'facepipe.identification/v1', threshold: 0.21, marginWeight: 1 });
    const config = loadAppConfig({
      storage,
      queuePrefix: `test-calibrate-${randomBytes(4).toString('hex')}`,
      indexUrl: 'http://127.0.0.1:0',
    });
    const service = await startIndexService(config, { port: 0, host: '127.0.0.1', rulePollMs: 50 });
    const threshold = async () => {
      const res = await fetch(`${service.url}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ vectors: [new Array(FACE_MODEL.embeddingSize).fill(0.01)], persons: true }),
      });
      const { decisions } = (await res.json()) as { decisions: Array<{ threshold: number; marginWeight: number }> };
      return decisions[0];
    };
    try {
      expect(await threshold()).toMatchObject({ threshold: 0.21, marginWeight: 1 });
      await store.write({ schema: 'facepipe.identification/v1', threshold: 0.27, marginWeight: 1.5 });
      await expect
        .poll(threshold, { timeout: 5000, interval: 50 })
        .toMatchObject({ threshold: 0.27, marginWeight: 1.5 });
    } finally {
      await service.close();
      const redis = new Redis(config.redisUrl);
      await redis.del(changeLogKey(config, FACE_MODEL.id));
      redis.disconnect();
    }
  });
});
