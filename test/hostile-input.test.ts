/**
 * A hostile-input corpus (issue 21, section 4), made here (nothing committed from outside): zero
 * bytes, truncated JPEG and PNG, text named .jpg, a PNG declaring 30000x30000 but tiny on disk, a
 * JPEG with a ~60 KB EXIF block, CMYK, 16-bit, alpha, an animated GIF, PGM and BMP, 1x1, a 20000x200
 * panorama, 64 faces tiled from the shipped samples, an EXIF-rotated portrait, names with spaces,
 * unicode, '..' and 250 characters, a link out of the source, manifest lines with bad person ids
 * and keys. Run through `detect` (its own process), `enroll`, `identify` and the HTTP routes
 * (/v1/identify, /v1/verify with an API key): every file ends with a result or an error code naming
 * it, no process dies, peak RSS is reported and bounded, nothing outside the storage root is
 * written and nothing outside the source is read. Real Redis, real models, folder storage.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../src/config/app-config.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { ApiKeyStore } from '../src/index/auth/api-key-store.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { runEnroll, type EnrollRunSummary } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import { apiKeysKey } from '../src/queue/queue-names.js';
import { ResultStore } from '../src/results/result-store.js';
import type { ResultJson } from '../src/results/result-types.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { lastJson, runCli } from './support/cli-process.js';
import { startTestPipeline, type TestPipeline } from './support/pipeline.js';
import { assertValidResult } from './support/result-schema.js';
import { faceImage } from './support/sample-faces.js';

let dir: string;
let corpus: string;
let config: AppConfig;
let engine: FaceEngine;
let pipeline: TestPipeline;
let apiKey: string;
const savedKey = process.env.FACEPIPE_API_KEY;

/** Every corpus file by key (relative to the corpus), with how it was made. */
const files = new Map<string, string>();
const SECRET = path.join('outside', 'secret.jpg');
/** The slow ones (64 faces, 20000 px wide) go through detect and identify only, as a source of their own. */
const HEAVY = '../heavy/cam-9';

async function put(key: string, bytes: Buffer | Uint8Array | string, what: string): Promise<void> {
  await mkdir(path.dirname(path.join(corpus, key)), { recursive: true });
  await writeFile(path.join(corpus, key), bytes);
  files.set(key, what);
}

/** A PNG whose header declares width x height, with one tiny compressed row: a decompression bomb. */
function bombPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(width + 1))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Every file under `root` with its size and mtime, to see that nothing there changed. */
async function fingerprint(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const s = await stat(full);
    out.push(`${path.relative(root, full)} ${s.size} ${s.mtimeMs}`);
  }
  return out.sort();
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-hostile-'));
  corpus = path.join(dir, 'corpus');
  for (const person of ['A', 'B'] as const) {
    await mkdir(path.join(dir, 'gallery', person), { recursive: true });
    await (await faceImage(person, 0.5)).jpeg().toFile(path.join(dir, 'gallery', person, '1.jpg'));
  }
  const face = await (await faceImage('A', 0.4, true)).resize({ height: 320 }).jpeg().toBuffer();
  const png = await sharp(face).png().toBuffer();
  const cam = 'cam-1';
  await put(`${cam}/zero.jpg`, Buffer.alloc(0), 'zero bytes');
  await put(`${cam}/truncated.jpg`, face.subarray(0, Math.floor(face.length / 2)), 'truncated JPEG');
  await put(`${cam}/truncated.png`, png.subarray(0, Math.floor(png.length / 2)), 'truncated PNG');
  await put(`${cam}/text.jpg`, 'this is not a JPEG\n', 'text named .jpg');
  await put(`${cam}/bomb.png`, bombPng(30_000, 30_000), 'PNG declaring 30000x30000');
  await put(
    `${cam}/huge-exif.jpg`,
    await sharp(face)
      .withExif({ IFD0: { ImageDescription: 'x'.repeat(60_000), Copyright: 'hostile' } })
      .jpeg()
      .toBuffer(),
    'JPEG with a 60 KB EXIF block',
  );
  await put(`${cam}/cmyk.jpg`, await sharp(face).toColourspace('cmyk').jpeg().toBuffer(), 'CMYK JPEG');
  await put(`${cam}/sixteen-bit.png`, await sharp(face).toColourspace('rgb16').png().toBuffer(), '16-bit PNG');
  await put(`${cam}/alpha.png`, await sharp(face).ensureAlpha(0.5).png().toBuffer(), 'PNG with alpha');
  const frames = await Promise.all(
    [face, await sharp(face).flop().toBuffer(), face].map((f) => sharp(f).resize(160, 160).png().toBuffer()),
  );
  await put(
    `${cam}/animated.gif`,
    await sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer(),
    'animated GIF',
  );
  await put(`${cam}/grey.pgm`, Buffer.concat([Buffer.from('P5\n8 8\n255\n'), Buffer.alloc(64, 128)]), 'PGM');
  await put(`${cam}/old.bmp`, Buffer.from('BM not really a bitmap'), 'BMP');
  await put(
    `${cam}/one-pixel.png`,
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } })
      .png()
      .toBuffer(),
    '1x1',
  );
  await put(
    `${HEAVY}/panorama.jpg`,
    await sharp({ create: { width: 20_000, height: 200, channels: 3, background: '#6a7b8c' } })
      .jpeg()
      .toBuffer(),
    '20000x200 panorama',
  );
  // 64 faces: the four sample people, tiled 8 x 8.
  const tiles = await Promise.all(
    (['A', 'B', 'C', 'D'] as const).map(async (p) => (await faceImage(p, 0.3)).resize(120, 150).jpeg().toBuffer()),
  );
  await put(
    `${HEAVY}/crowd.jpg`,
    await sharp({ create: { width: 8 * 130, height: 8 * 160, channels: 3, background: '#202020' } })
      .composite(
        Array.from({ length: 64 }, (_, i) => ({
          input: tiles[i % 4],
          left: (i % 8) * 130 + 5,
          top: Math.floor(i / 8) * 160 + 5,
        })),
      )
      .jpeg()
      .toBuffer(),
    '64 tiled faces',
  );
  // A portrait stored sideways with EXIF orientation 6 (rotate 90° clockwise to view): found upright.
  await put(
    `${cam}/rotated.jpg`,
    await sharp(await sharp(face).rotate(-90).toBuffer())
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer(),
    'EXIF-rotated portrait',
  );
  await put(`${cam}/with space.jpg`, face, 'name with spaces');
  await put(`${cam}/ünïcödé-名前.jpg`, face, 'unicode name');
  await put(`${cam}/a..b.jpg`, face, "'..' in the name");
  await put(`${cam}/..jpg`, face, "name starting with '..'");
  await put(`${cam}/${'l'.repeat(247)}.jpg`, face, '251-character name: its result file name is too long as is');
  await put('loose.jpg', face, 'outside any person folder');
  await put('bad id!/face.jpg', face, 'folder with a bad person id');
  // Outside the source: a link inside the source points at it; it must never be read.
  await mkdir(path.join(dir, 'outside'), { recursive: true });
  await writeFile(path.join(dir, SECRET), await (await faceImage('B', 0.5)).jpeg().toBuffer());
  await symlink(path.join(dir, SECRET), path.join(corpus, cam, 'link-out.jpg'));
  files.set(`${cam}/link-out.jpg`, 'link out of the source');

  const prefix = `fptest-${randomBytes(4).toString('hex')}`;
  config = loadAppConfig({ storage: path.join(dir, 'data'), queuePrefix: prefix });
  // The service requires a key once one exists; the workers send it too.
  const redis = new Redis(config.redisUrl);
  apiKey = (await new ApiKeyStore(redis, apiKeysKey(config)).create('read')).key;
  redis.disconnect();
  process.env.FACEPIPE_API_KEY = apiKey;
  engine = await FaceEngine.start({ threads: 1, analyzer: { flipTta: false } });
  pipeline = await startTestPipeline(config, engine);
  config = pipeline.config;
  const enrolled = (await runEnroll(config, { source: path.join(dir, 'gallery'), wait: true })) as EnrollRunSummary;
  expect(enrolled).toMatchObject({ images: 2, enrolled: 2 });
  while (pipeline.index.service.current.size < 2) await new Promise((resolve) => setTimeout(resolve, 50));
}, 120_000);

afterAll(async () => {
  await pipeline?.close();
  await engine?.close();
  if (savedKey === undefined) delete process.env.FACEPIPE_API_KEY;
  else process.env.FACEPIPE_API_KEY = savedKey;
  await rm(dir, { recursive: true, force: true });
});

describe('a hostile-input corpus', () => {
  it('ends every file with a result or a code naming it, through detect, identify, enroll and HTTP', async () => {
    const t0 = Date.now();
    const stage = (name: string) =>
      console.log(`hostile corpus: ${name} done at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const outsideBefore = await fingerprint(path.join(dir, 'outside'));
    const corpusBefore = [...(await fingerprint(corpus)), ...(await fingerprint(path.join(dir, 'heavy')))];
    const heavy = [...files.keys()].filter((k) => k.startsWith('../heavy/'));
    const light = [...files.keys()].filter((k) => !k.startsWith('../heavy/'));
    const imageKeys = light.filter((k) => !/\.(pgm|bmp)$/.test(k) && !k.endsWith('link-out.jpg'));

    // detect, its own process, on every file by path: one entry each, a code or faces; it exits.
    const detectArgs = [...files.keys()].filter((k) => !k.endsWith('link-out.jpg')).map((k) => path.join(corpus, k));
    const detected = await runCli(['--threads', '1', '--no-flip-tta', 'detect', '--json', ...detectArgs]);
    stage('detect');
    expect(detected.code, detected.stderr.slice(-2000)).toBe(1); // some inputs fail; the process does not die
    const detections = lastJson(detected).images as { key: string; faces: unknown[]; error: { code: string } | null }[];
    expect(detections.map((d) => d.key)).toEqual(detectArgs);
    const detectCodes = Object.fromEntries(
      detections.map((d) => [path.relative(corpus, d.key), d.error?.code ?? `faces:${d.faces.length}`]),
    );
    expect(detectCodes).toMatchObject({
      'cam-1/zero.jpg': 'EMPTY_FILE',
      'cam-1/text.jpg': 'NOT_AN_IMAGE',
      'cam-1/bomb.png': 'TOO_MANY_PIXELS',
      'cam-1/one-pixel.png': 'faces:0',
      '../heavy/cam-9/panorama.jpg': 'faces:0',
    });

    // identify: a result file for every image (valid, with faces or a code), a code for every other file.
    const run = (await runIdentify(config, { source: corpus, run: 'hostile', wait: true })) as IdentifyRunSummary;
    stage('identify');
    const results = new Map<string, ResultJson>();
    for await (const { resultKey, result } of new ResultStore(new FolderStorage(config.storage)).read('hostile')) {
      assertValidResult(result, resultKey);
      results.set(result.input.key, result);
    }
    expect([...results.keys()].sort()).toEqual([...imageKeys].sort());
    expect(run.snapshots).toBe(imageKeys.length);
    expect(run.skippedByCode).toEqual({ SYMLINK_REFUSED: 1, UNSUPPORTED_TYPE: 2 });
    expect(run.skippedFiles.map((f) => f.key).sort()).toEqual([
      'cam-1/grey.pgm',
      'cam-1/link-out.jpg',
      'cam-1/old.bmp',
    ]);
    const outcome = (key: string) => {
      const r = results.get(key)!;
      return r.error?.code ?? (r.faces.length === 0 ? 'no face' : r.faces.map((f) => f.personId ?? '-').join(','));
    };
    expect(outcome('cam-1/zero.jpg')).toBe('EMPTY_FILE');
    expect(outcome('cam-1/text.jpg')).toBe('NOT_AN_IMAGE');
    expect(outcome('cam-1/bomb.png')).toBe('TOO_MANY_PIXELS');
    expect(['TRUNCATED_IMAGE', 'NOT_AN_IMAGE']).toContain(outcome('cam-1/truncated.png'));
    for (const key of [
      'cam-1/huge-exif.jpg',
      'cam-1/cmyk.jpg',
      'cam-1/sixteen-bit.png',
      'cam-1/alpha.png',
      'cam-1/rotated.jpg',
      'cam-1/with space.jpg',
      'cam-1/ünïcödé-名前.jpg',
      'cam-1/a..b.jpg',
      'cam-1/..jpg',
      `cam-1/${'l'.repeat(247)}.jpg`,
    ])
      expect(outcome(key), `${key} (${files.get(key)})`).toBe('A');
    expect(run.errors.NO_RESULT).toBeUndefined();
    expect(run.pending).toBe(0);
    const heavyRun = (await runIdentify(config, {
      source: path.join(dir, 'heavy'),
      run: 'heavy',
      wait: true,
    })) as IdentifyRunSummary;
    expect(heavyRun).toMatchObject({ snapshots: heavy.length, failed: 0 });
    const heavyResults = new Map<string, ResultJson>();
    for await (const { resultKey, result } of new ResultStore(new FolderStorage(config.storage)).read('heavy')) {
      assertValidResult(result, resultKey);
      heavyResults.set(result.input.key, result);
    }
    expect(heavyResults.get('cam-9/panorama.jpg')?.faces).toEqual([]);
    expect(heavyResults.get('cam-9/crowd.jpg')!.faces.length).toBeGreaterThanOrEqual(40);
    stage('identify of the heavy ones');

    // enroll: enrolled, failed with a code, or not read with a code: each file once.
    const enroll = (await runEnroll(config, { source: corpus, wait: true })) as EnrollRunSummary;
    stage('enroll');
    const named = new Set([...enroll.failures.map((f) => f.key), ...enroll.skippedFiles.map((f) => f.key)]);
    const records = await new GalleryStore(new FolderStorage(config.storage), engine.model.id).readAll();
    const enrolledKeys = new Set(records.filter((r) => r.source.endsWith('/corpus')).map((r) => r.sourceKey));
    for (const key of light)
      expect(enrolledKeys.has(key) || named.has(key), `${key} (${files.get(key)}) ends nowhere`).toBe(true);
    expect(enroll.skippedByCode).toMatchObject({ SYMLINK_REFUSED: 1, UNSUPPORTED_TYPE: 2, OUTSIDE_LAYOUT: 1 });
    expect(enroll.errors).toMatchObject({ INVALID_PERSON_ID: 1, EMPTY_FILE: 1, TOO_MANY_PIXELS: 1 });
    expect(enroll.errors.NOT_ENROLLED).toBeUndefined();

    // A manifest with bad person ids and keys: each line fails alone, with its code.
    const manifest = path.join(dir, 'manifest.csv');
    await writeFile(
      manifest,
      [
        'key,personId',
        'cam-1/cmyk.jpg,ok-person',
        'cam-1/alpha.png,bad id with spaces',
        `cam-1/rotated.jpg,${'x'.repeat(300)}`,
        '../outside/secret.jpg,thief',
        'cam-1/link-out.jpg,thief',
        'cam-1/nowhere.jpg,ghost',
      ].join('\n'),
    );
    const fromManifest = await runCli(['--no-flip-tta', 'enroll', corpus, '--manifest', manifest, '--wait', '--json'], {
      FACEPIPE_STORAGE: config.storage,
      FACEPIPE_QUEUE_PREFIX: config.queuePrefix,
    });
    const m = lastJson(fromManifest);
    expect(fromManifest.code).toBe(1);
    expect(m.errors).toEqual({ INVALID_PERSON_ID: 2, INVALID_KEY: 1, SYMLINK_REFUSED: 1, MISSING_FILE: 1 });
    expect(m.enrolled).toBe(1);
    stage('manifest');

    // HTTP: every file to /v1/identify and /v1/verify, with the read key: an answer or a code, never a 5xx.
    const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/octet-stream' };
    const noKey = await fetch(`${config.indexUrl}/v1/identify`, { method: 'POST', body: new Uint8Array(1) });
    expect(noKey.status).toBe(401);
    const overHttp = light.filter((k) => !k.endsWith('link-out.jpg'));
    for (const key of overHttp) {
      const body = await readFile(path.join(corpus, key));
      for (const route of [`/v1/identify?name=${encodeURIComponent(key)}`, '/v1/verify?personId=A']) {
        const response = await fetch(`${config.indexUrl}${route}`, { method: 'POST', headers: auth, body });
        const answer = (await response.json()) as { error?: { code: string; message: string } };
        expect(response.status, `${route} ${key}: ${JSON.stringify(answer)}`).toBeLessThan(500);
        if (response.status >= 400) expect(answer.error?.code, `${route} ${key}`).toMatch(/^[A-Z_]+$/);
      }
    }

    stage('HTTP');

    // Nothing outside the source was written, nothing of the source changed; the service is alive.
    expect(await fingerprint(path.join(dir, 'outside'))).toEqual(outsideBefore);
    expect([...(await fingerprint(corpus)), ...(await fingerprint(path.join(dir, 'heavy')))]).toEqual(corpusBefore);
    expect((await readdir(dir)).sort()).toEqual(['corpus', 'data', 'gallery', 'heavy', 'manifest.csv', 'outside']);
    expect(records.some((r) => r.sourceKey.includes('secret'))).toBe(false);
    expect((await fetch(`${config.indexUrl}/healthz`)).status).toBe(200);

    // Peak memory of this process (service, workers and engine threads), reported and bounded.
    const peakMb = process.resourceUsage().maxRSS / 1024;
    console.log(`hostile corpus: ${files.size} files, peak RSS ${peakMb.toFixed(0)} MB`);
    expect(peakMb).toBeLessThan(2048);
  }, 600_000);
});
