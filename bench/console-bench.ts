/**
 * npm run bench:console [-- --persons 10000 --snapshots 24 --repeat 5]
 *
 * The web console's pages on a gallery of `--persons` SYNTHETIC persons (one face each: a random
 * unit vector of the model's dimension, its photo one of 50 crops of @vladmandic/face-api's demo
 * photos) and a synthetic identify run of `--snapshots` 1280x720 snapshots whose faces name some
 * of them (result files and sightings recorded as the identify worker records them). The real
 * index service (startIndexService: folder storage, Redis under a random prefix, an admin key)
 * loads the gallery; Debian's chromium (playwright-core) opens the console and every page is
 * timed in that same browser, `--repeat` times:
 *   ready   from the navigation until the page shows its data (the API answered, rendered);
 *   images  until every image of the page is fetched and decoded, too.
 * People is timed cold (pages never seen, so every thumbnail is cut from its photo) and warm (the
 * same page again: the service's image cache and the browser's). Timings are wall-clock on a
 * shared machine: read them next to `uptime`'s load; the CPU time this process spent (the service
 * answering, and playwright's client) is the figure load does not inflate as much. The LAST line
 * is one JSON object.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { z } from 'zod';
import { loadAppConfig } from '../src/config/app-config.js';
import { BASE_MODEL } from '../src/engine/embedding-model.js';
import { faceIdFor } from '../src/gallery/face-id.js';
import type { GalleryRecord } from '../src/gallery/gallery-record.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { ApiKeyStore } from '../src/index/auth/api-key-store.js';
import { startIndexService } from '../src/index/index-service-runtime.js';
import { MatchStore } from '../src/matches/match-store.js';
import { RunStore } from '../src/producers/run-store.js';
import { apiKeysKey, changeLogKey, matchKeyPrefix } from '../src/queue/queue-names.js';
import { ResultStore } from '../src/results/result-store.js';
import { RESULT_SCHEMA_ID, type ResultJson } from '../src/results/result-types.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { canonicalStorageUrl } from '../src/storage/storage-url.js';
// @ts-expect-error: a plain ES module script without types
import { buildConsole } from '../scripts/build-console.mjs';
import { launchChromium, waitForCount, waitForImages } from '../test/support/chromium.js';
import { sample } from '../test/support/sample-faces.js';
import { gaussian, prng, unit } from '../test/support/synthetic-embeddings.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';

const options = optionsOrExit('bench:console', () =>
  parseOptions(
    {
      persons: { type: 'string', default: '10000' },
      snapshots: { type: 'string', default: '24' },
      repeat: { type: 'string', default: '5' },
    },
    z.object({ persons: integer(60), snapshots: integer(1), repeat: integer(1) }),
  ),
);

const PHOTOS = 50;
const PAGE_SIZE = 50; // the People page's
const RUN = 'bench-night';
const rand = prng(23);
const personId = (i: number) => `person-${String(i).padStart(6, '0')}`;

const dir = await mkdtemp(path.join(tmpdir(), 'facepipe-console-bench-'));
const config = loadAppConfig({
  storage: path.join(dir, 'data'),
  queuePrefix: `fpbench-${randomBytes(4).toString('hex')}`,
});
const redis = new Redis(config.redisUrl);
const storage = new FolderStorage(path.join(dir, 'data'));
const sourceDir = path.join(dir, 'archive');
const source = canonicalStorageUrl(sourceDir);
const model = BASE_MODEL;

/** 50 archive photos: 400x400 crops of the demo photos at random places. */
async function makePhotos(): Promise<void> {
  await mkdir(sourceDir, { recursive: true });
  for (let i = 0; i < PHOTOS; i++) {
    const file = sample((i % 6) + 1);
    const { width = 0, height = 0 } = await sharp(file).metadata();
    const side = Math.min(width, height, 800);
    const left = Math.floor(rand() * (width - side));
    const top = Math.floor(rand() * (height - side));
    await sharp(file)
      .extract({ left, top, width: side, height: side })
      .resize(400, 400)
      .jpeg({ quality: 85 })
      .toFile(path.join(sourceDir, `photo-${i}.jpg`));
  }
}

async function makeGallery(): Promise<void> {
  const gallery = new GalleryStore(storage, model.id, undefined, { embeddingSize: model.embeddingSize });
  let records: GalleryRecord[] = [];
  for (let i = 0; i < options.persons; i++) {
    const sourceKey = `photo-${i % PHOTOS}.jpg`;
    const size = 120 + Math.floor(rand() * 120);
    records.push({
      // The face index in the id keeps two persons of one photo apart.
      faceId: faceIdFor(source, sourceKey, 'etag', model.id, i),
      personId: personId(i),
      source,
      sourceKey,
      sourceEtag: 'etag',
      box: { x: Math.floor(rand() * (400 - size)), y: Math.floor(rand() * (400 - size)), width: size, height: size },
      landmarks: [],
      score: 0.99,
      model: model.id,
      embedding: unit(Array.from({ length: model.embeddingSize }, () => gaussian(rand))),
      enrolledAt: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
    });
    if (records.length === 1000) {
      await gallery.append(records);
      records = [];
    }
  }
  if (records.length > 0) await gallery.append(records);
}

/** The run: snapshots of three faces each (two named persons, one unknown), results and sightings. */
async function makeRun(): Promise<string> {
  const night = path.join(dir, 'cctv');
  await mkdir(path.join(night, 'cam-1'), { recursive: true });
  const results = new ResultStore(storage);
  const matches = new MatchStore(redis, matchKeyPrefix(config));
  const background = await sharp(sample(6)).resize(1280, 720, { fit: 'cover' }).blur(8).toBuffer();
  const seen = personId(7); // in every snapshot: the Person page's sightings
  for (let s = 0; s < options.snapshots; s++) {
    const key = `cam-1/${String(10000 + s * 100)}.jpg`;
    await sharp(background).jpeg({ quality: 70 }).toFile(path.join(night, key));
    const persons = [seen, personId(100 + s), null];
    const result: ResultJson = {
      schema: RESULT_SCHEMA_ID,
      input: {
        key,
        etag: `e${s}`,
        width: 1280,
        height: 720,
        captured: new Date(Date.UTC(2026, 10, 28, 2, s)).toISOString(),
      },
      model: { id: model.id, detector: 'ssd', embedder: 'bench', threshold: model.threshold },
      processedAt: new Date().toISOString(),
      faces: persons.map((person, j) => ({
        box: { x: 150 + j * 380, y: 200, width: 110, height: 130 },
        score: 0.95,
        landmarks: [
          [0, 0],
          [0, 0],
          [0, 0],
          [0, 0],
          [0, 0],
        ],
        quality: { size: 110, blur: 0.1, pose: 0.1 },
        matches: [
          { personId: person ?? personId(9000 + j), faceId: `f${'1'.repeat(32)}`, distance: person ? 0.3 : 0.8 },
          { personId: personId(9100 + j), faceId: `f${'2'.repeat(32)}`, distance: 0.85 },
        ],
        personId: person,
      })),
      error: null,
    };
    const resultKey = await results.put(RUN, result);
    await matches.recordResult(RUN, resultKey, result);
  }
  await new RunStore(storage).save({
    run: RUN,
    source: canonicalStorageUrl(night),
    since: null,
    watermark: null,
    snapshots: options.snapshots,
    createdAt: new Date().toISOString(),
    completedAt: new Date().toISOString(),
    jobs: [],
  });
  return seen;
}

interface Timing {
  ready: number;
  images: number;
  /** CPU time of this process (the index service, and playwright's side) over the load, ms. */
  cpu: number;
}

/** Goes to `hash` and times until `ready` resolves, then until the page's images are all decoded. */
async function time(
  page: Page,
  hash: string,
  ready: () => Promise<void>,
  images?: { selector: string; count: number },
): Promise<Timing> {
  await page.evaluate(() => {
    (globalThis as unknown as { location: { hash: string } }).location.hash = '#/blank';
  });
  const started = performance.now();
  const cpu = process.cpuUsage();
  await page.evaluate((h) => {
    (globalThis as unknown as { location: { hash: string } }).location.hash = h;
  }, hash);
  await ready();
  const readyAt = performance.now();
  if (images) await waitForImages(page, images.selector, images.count);
  const used = process.cpuUsage(cpu);
  return { ready: readyAt - started, images: performance.now() - started, cpu: (used.user + used.system) / 1000 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const max = (values: number[]) => Math.max(...values);

const build = performance.now();
await buildConsole();
await makePhotos();
await makeGallery();
const seen = await makeRun();
const { key } = await new ApiKeyStore(redis, apiKeysKey(config)).create('admin');
const service = await startIndexService(config, { model, port: 0, host: '127.0.0.1', service: { readBlockMs: 200 } });
console.log(
  `${options.persons} synthetic persons, ${options.snapshots} snapshots; service loaded in ${((performance.now() - build) / 1000).toFixed(1)} s (setup included); load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

const browser = await launchChromium();
const figures: Record<string, { ready: number[]; images: number[]; cpu: number[] }> = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${service.url}/`);
  await page.fill('input[name=apiKey]', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-person]');
  const people = `[data-person]`;
  const record = (name: string, t: Timing) => {
    figures[name] ??= { ready: [], images: [], cpu: [] };
    figures[name].ready.push(t.ready);
    figures[name].images.push(t.images);
    figures[name].cpu.push(t.cpu);
  };
  const thumbs = { selector: 'img[data-testid=person-thumb]', count: PAGE_SIZE };
  for (let r = 0; r < options.repeat; r++) {
    // Cold: a page of persons never shown (their thumbnails cut now); warm: the same page again.
    const offset = (1 + r) * Math.floor(options.persons / (options.repeat + 2) / PAGE_SIZE) * PAGE_SIZE;
    const hash = `#/people?offset=${offset}`;
    const peopleReady = () =>
      waitForCount(page, people, PAGE_SIZE)
        .then(() => page.waitForSelector(`[data-person="${personId(offset)}"]`))
        .then(() => {});
    record('People (cold thumbnails)', await time(page, hash, peopleReady, thumbs));
    record('People (warm)', await time(page, hash, peopleReady, thumbs));
    record(
      'Person (sightings)',
      await time(
        page,
        `#/person/${seen}`,
        () => waitForCount(page, '[data-testid=sighting]', Math.min(50, options.snapshots)),
        {
          selector: '[data-testid=sighting] img, [data-testid=enrolled] img',
          count: Math.min(50, options.snapshots) + 1,
        },
      ),
    );
    record('Runs', await time(page, '#/runs', () => page.waitForSelector('[data-testid=runs] a').then(() => {})));
    const shown = Math.min(24, options.snapshots);
    record(
      'Run (snapshot grid)',
      await time(page, `#/runs/${RUN}`, () => waitForCount(page, '[data-snapshot]', shown), {
        selector: '[data-snapshot] img',
        count: shown,
      }),
    );
    record('Search', await time(page, '#/search', () => page.waitForSelector('input[name=photo]').then(() => {})));
    record(
      'System',
      await time(page, '#/system', () => page.waitForSelector('[data-testid=index-status]').then(() => {})),
    );
  }
} finally {
  await browser.close();
  await service.close();
  const left = await redis.keys(`${config.queuePrefix}:*`);
  if (left.length > 0) await redis.del(...left);
  await redis.del(changeLogKey(config, model.id));
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
}

console.log(
  `\npage                       ready p50 / max (ms)   with images p50 / max (ms)   service CPU p50 (ms)   (n=${options.repeat})`,
);
const summary: Record<
  string,
  { readyP50: number; readyMax: number; imagesP50: number; imagesMax: number; cpuP50: number }
> = {};
for (const [name, { ready, images, cpu }] of Object.entries(figures)) {
  summary[name] = {
    readyP50: Math.round(median(ready)),
    readyMax: Math.round(max(ready)),
    imagesP50: Math.round(median(images)),
    imagesMax: Math.round(max(images)),
    cpuP50: Math.round(median(cpu)),
  };
  const s = summary[name];
  console.log(
    `${name.padEnd(27)}${`${s.readyP50} / ${s.readyMax}`.padStart(18)}${`${s.imagesP50} / ${s.imagesMax}`.padStart(29)}${String(s.cpuP50).padStart(23)}`,
  );
}
console.log(
  `load after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  JSON.stringify({ persons: options.persons, snapshots: options.snapshots, repeat: options.repeat, pages: summary }),
);
