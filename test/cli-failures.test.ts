/**
 * Failures that speak (issue 20, part 4), through the real CLI against a real Redis:
 * Redis unreachable, a missing or imageless source, no worker on the queue, failures named in the
 * summaries and by `facepipe failures`, who an identify run saw.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../src/config/app-config.js';
import { BASE_MODEL } from '../src/engine/embedding-model.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { registerMatchRoutes } from '../src/index/match-routes.js';
import { MatchStore } from '../src/matches/match-store.js';
import { runEnroll } from '../src/producers/enroll-run.js';
import { runIdentify, type IdentifyRunSummary } from '../src/producers/identify-run.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { ResultStore } from '../src/results/result-store.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { canonicalStorageUrl } from '../src/storage/storage-url.js';
import { lastJson, runCli } from './support/cli-process.js';
import { resultJson } from './support/result-json.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const TIMEOUT = 90_000;
const prefix = `fptest-${randomBytes(4).toString('hex')}`;
let dir: string;
let config: AppConfig;
const env = () => ({
  REDIS_URL,
  FACEPIPE_STORAGE: config.storage,
  FACEPIPE_QUEUE_PREFIX: prefix,
  FACEPIPE_INDEX_URL: '',
});

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-failures-'));
  config = {
    storage: path.join(dir, 'data'),
    redisUrl: REDIS_URL,
    queuePrefix: prefix,
    indexUrl: 'http://127.0.0.1:9',
  };
});
afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

/** A port nobody listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Files (any bytes: no worker reads them here) under `root`. */
async function files(root: string, keys: string[]): Promise<string> {
  for (const key of keys) {
    await mkdir(path.dirname(path.join(root, key)), { recursive: true });
    await writeFile(path.join(root, key), `bytes of ${key}`);
  }
  return root;
}

describe('Redis unreachable', () => {
  let port: number;
  let source: string;
  beforeAll(async () => {
    port = await closedPort();
    source = await files(path.join(dir, 'redis-down'), ['p1/a.jpg', 'cam/1.jpg']);
  });

  it.each([
    'enroll <source> --wait',
    'identify <source> --wait',
    'worker --queues schedule',
    'serve --port 0',
    'schedule list',
    'matches rebuild',
  ])(
    '%s stops within 10 s: exit 1, one line naming the URL (password masked), no stack trace',
    { timeout: TIMEOUT },
    async (command) => {
      const started = performance.now();
      const run = await runCli(
        command.split(' ').map((arg) => (arg === '<source>' ? source : arg)),
        { ...env(), REDIS_URL: `redis://:s3cret@127.0.0.1:${port}` },
      );
      const seconds = (performance.now() - started) / 1000;
      expect(run.code, run.stderr).toBe(1);
      expect(seconds).toBeLessThan(10);
      expect(run.stderr).toBe(
        `facepipe: cannot reach Redis at redis://:***@127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): ` +
          'start redis-server, or point REDIS_URL (or --redis-url) at a running Redis\n',
      );
      expect(run.stdout).toBe('');
    },
  );
});

describe('sources', () => {
  it('a source that does not exist, or holds no image, is exit 1 with a message', { timeout: TIMEOUT }, async () => {
    const missing = path.join(dir, 'no', 'such', 'folder');
    for (const command of ['identify', 'enroll']) {
      const run = await runCli([command, missing], env());
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toBe(`facepipe: source ${missing}: no such folder\n`);
    }
    const notes = await files(path.join(dir, 'notes'), ['p1/readme.txt', 'notes.md']);
    for (const command of ['identify', 'enroll']) {
      const run = await runCli([command, notes], env());
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(
        /^facepipe: source .*notes holds 2 file\(s\), none of them an image \(images end in \.jpg/,
      );
    }
    // Images, but not in <personId>/ folders: nothing to enroll, and the message says what was expected.
    const flat = await files(path.join(dir, 'flat'), ['a.jpg', 'b.jpg']);
    const run = await runCli(['enroll', flat], env());
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/none of its 2 image\(s\) is in a <personId>\/ folder .*a\.jpg: not in a person folder/);
  });

  it('an empty night of a source that exists: says so, exit 0', { timeout: TIMEOUT }, async () => {
    const night = await files(path.join(dir, 'night-empty'), ['cam-1/0100.jpg']);
    const run = await runCli(['identify', night, '--since', '2099-01-01T00:00:00Z', '--wait'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /no snapshot under .*night-empty modified after 2099-01-01T00:00:00Z: nothing to identify/,
    );
  });
});

describe('nobody consuming the queue', () => {
  it('--wait warns once, naming the queue and how to start a worker, and keeps waiting', {
    timeout: TIMEOUT,
  }, async () => {
    const source = await files(path.join(dir, 'unwatched'), ['cam-1/0100.jpg', 'cam-1/0200.jpg']);
    const warnings: string[] = [];
    const abort = new AbortController();
    const waiting = runIdentify(config, {
      source,
      wait: true,
      abort: abort.signal,
      noWorkerWarningMs: 300,
      onNoWorker: (message) => warnings.push(message),
    });
    let settled = false;
    void waiting.finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^no worker is taking jobs from the identify queue \(prefix fptest-/);
    expect(warnings[0]).toContain('`facepipe worker` or `facepipe up`');
    expect(settled).toBe(false); // still waiting
    abort.abort();
    const summary = (await waiting) as IdentifyRunSummary;
    expect(summary.failures.map((f) => f.code)).toEqual(['NO_RESULT', 'NO_RESULT']);
  });

  it('no warning while a worker is connected to the queue', { timeout: TIMEOUT }, async () => {
    const source = await files(path.join(dir, 'watched'), ['p1/a.jpg']);
    // A worker that takes the job and holds it: connected, so nobody is warned.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const worker = new Worker(QUEUE_NAMES.enroll, () => held, queueConnectionOptions(config));
    await worker.waitUntilReady();
    const warnings: string[] = [];
    const abort = new AbortController();
    const waiting = runEnroll(config, {
      source,
      wait: true,
      abort: abort.signal,
      noWorkerWarningMs: 300,
      onNoWorker: (message) => warnings.push(message),
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    abort.abort();
    await waiting;
    release();
    await worker.close();
    expect(warnings).toEqual([]);
  });
});

describe('failures named, and who was seen', () => {
  const night = () => path.join(dir, 'night-1');
  const keys = Array.from({ length: 14 }, (_, i) => `cam-1/${String(i).padStart(2, '0')}00.jpg`);
  const at = (hour: number) => `2026-11-29T${String(hour).padStart(2, '0')}:00:00.000Z`;

  beforeAll(async () => {
    await files(night(), keys);
    // Plan the run (its jobs wait in the queue), then write every result as workers would have.
    await runIdentify(config, { source: night(), run: 'night-1' });
    const results = new ResultStore(new FolderStorage(config.storage));
    for (const [i, key] of keys.entries()) {
      const result = resultJson(
        key,
        i === 11
          ? [{ personId: 'A' }]
          : i === 12
            ? [{ personId: 'A' }, { personId: 'B' }]
            : i === 13
              ? [{ personId: 'A' }, { personId: null }]
              : [],
        {
          modified: at(i),
        },
      );
      if (i < 11) result.error = { code: i % 2 === 0 ? 'NOT_AN_IMAGE' : 'NO_FACE', message: `bad snapshot ${i}` };
      await results.put('night-1', result);
    }
  });

  it('identify --wait: the first 10 failures with code and message, and per person the snapshots, first and last', {
    timeout: TIMEOUT,
  }, async () => {
    const run = await runCli(['identify', night(), '--run', 'night-1', '--wait'], env());
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^run night-1: 14 snapshots, 5 faces: 4 identified, 1 unknown; 11 snapshots failed/);
    expect(lines).toContain('seen (2 persons, most snapshots first):');
    expect(lines).toContain(`  A: 3 snapshot(s), first cam-1/1100.jpg (${at(11)}), last cam-1/1300.jpg (${at(13)})`);
    expect(lines).toContain(`  B: 1 snapshot(s), first cam-1/1200.jpg (${at(12)}), last cam-1/1200.jpg (${at(12)})`);
    expect(lines).toContain('failed (11, first 10 by key):');
    expect(lines).toContain('  cam-1/0000.jpg\tNOT_AN_IMAGE\tbad snapshot 0');
    expect(lines).toContain('  cam-1/0900.jpg\tNO_FACE\tbad snapshot 9');
    expect(lines.some((l) => l.startsWith('  cam-1/1000.jpg'))).toBe(false);
    expect(lines).toContain('  ... 1 more: facepipe failures night-1');
  });

  it('identify --json: a failures array (capped) and the persons seen', { timeout: TIMEOUT }, async () => {
    const summary = lastJson(await runCli(['identify', night(), '--run', 'night-1', '--wait', '--json'], env()));
    expect(summary.failed).toBe(11);
    expect(summary.failures).toHaveLength(11);
    expect(summary.failures[10]).toEqual({ key: 'cam-1/1000.jpg', code: 'NOT_AN_IMAGE', message: 'bad snapshot 10' });
    expect(summary.seen.map((p: { personId: string; snapshots: number }) => [p.personId, p.snapshots])).toEqual([
      ['A', 3],
      ['B', 1],
    ]);
  });

  it('facepipe failures <run> lists every failure, also a snapshot without a result file', {
    timeout: TIMEOUT,
  }, async () => {
    await rm(path.join(config.storage, 'facepipe/results/night-1/cam-1/1100.jpg.json'));
    const run = await runCli(['failures', 'night-1'], env());
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('12 failure(s) in run night-1');
    expect(lines).toHaveLength(13);
    expect(lines).toContain('cam-1/1000.jpg\tNOT_AN_IMAGE\tbad snapshot 10');
    expect(lines.find((l) => l.startsWith('cam-1/1100.jpg'))).toMatch(/\tNO_RESULT\tno result file: job identify-/);
    const json = lastJson(await runCli(['failures', 'night-1', '--json'], env()));
    expect(json.total).toBe(12);

    const unknown = await runCli(['failures', 'no-such-run'], env());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('facepipe: no identify run "no-such-run" in this storage\n');
    const neither = await runCli(['failures'], env());
    expect(neither.code).toBe(2);
  });

  it('enroll --wait names its failures; facepipe failures --enroll lists those that still stand', {
    timeout: TIMEOUT,
  }, async () => {
    const archive = await files(path.join(dir, 'archive'), ['p1/a.jpg', 'p1/b.jpg', 'p2/c.jpg']);
    const source = new FolderStorage(archive);
    const sourceUrl = canonicalStorageUrl(source.url);
    const etag = async (key: string) => (await source.head(key))!.etag;
    const gallery = new GalleryStore(new FolderStorage(config.storage), BASE_MODEL.id);
    await gallery.append([
      {
        faceId: 'f-b',
        personId: 'p1',
        source: sourceUrl,
        sourceKey: 'p1/b.jpg',
        sourceEtag: await etag('p1/b.jpg'),
        box: { x: 0, y: 0, width: 10, height: 10 },
        landmarks: [],
        score: 0.9,
        model: BASE_MODEL.id,
        embedding: [1, 0],
        enrolledAt: '2026-11-29T10:00:00.000Z',
      },
    ]);
    const failure = (key: string, code: string, failedAt: string) => ({
      source: sourceUrl,
      personId: key.split('/')[0],
      code,
      message: `${code.toLowerCase()} in ${key}`,
      failedAt,
    });
    await gallery.appendFailures([
      {
        ...failure('p1/a.jpg', 'NO_FACE', '2026-11-29T09:00:00.000Z'),
        sourceKey: 'p1/a.jpg',
        sourceEtag: await etag('p1/a.jpg'),
      },
      {
        ...failure('p2/c.jpg', 'NOT_AN_IMAGE', '2026-11-29T09:00:00.000Z'),
        sourceKey: 'p2/c.jpg',
        sourceEtag: await etag('p2/c.jpg'),
      },
      // b.jpg failed once, then was enrolled: it no longer stands.
      { ...failure('p1/b.jpg', 'NO_FACE', '2026-11-29T08:00:00.000Z'), sourceKey: 'p1/b.jpg', sourceEtag: 'older' },
    ]);

    const run = await runCli(['enroll', archive, '--wait'], env());
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^3 images: 1 enrolled \(1 persons\), 2 failed \(NO_FACE 1, NOT_AN_IMAGE 1\)/);
    expect(lines.slice(1)).toEqual([
      'failed (2):',
      '  p1/a.jpg\tp1\tNO_FACE\tno_face in p1/a.jpg',
      '  p2/c.jpg\tp2\tNOT_AN_IMAGE\tnot_an_image in p2/c.jpg',
    ]);
    const json = lastJson(await runCli(['enroll', archive, '--wait', '--json'], env()));
    expect(json.failures).toEqual([
      { key: 'p1/a.jpg', personId: 'p1', code: 'NO_FACE', message: 'no_face in p1/a.jpg' },
      { key: 'p2/c.jpg', personId: 'p2', code: 'NOT_AN_IMAGE', message: 'not_an_image in p2/c.jpg' },
    ]);

    const listed = lastJson(await runCli(['failures', '--enroll', '--json'], env()));
    expect(listed.total).toBe(2);
    expect(listed.items.map((f: { key: string; source: string }) => [f.key, f.source])).toEqual([
      ['p1/a.jpg', sourceUrl],
      ['p2/c.jpg', sourceUrl],
    ]);
  });
});

describe('matches <personId>', () => {
  it('an id that is not enrolled says so (exit 1); an enrolled person never seen has 0 sightings', {
    timeout: TIMEOUT,
  }, async () => {
    const redis = new Redis(REDIS_URL);
    const store = new MatchStore(redis, `${prefix}:matches-test`);
    const index = new FaceIndex({ dim: 4 });
    index.add([{ faceId: 'emp-1-f0', personId: 'emp-1', embedding: [1, 0, 0, 0] }]);
    const app = buildIndexServer({ index, threshold: 0.6 });
    registerMatchRoutes(app, store);
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const ghost = await runCli(['matches', 'ghost', '--index-url', url], env());
      expect(ghost.code).toBe(1);
      expect(ghost.stdout).toBe('');
      expect(ghost.stderr).toMatch(
        /^facepipe: ghost is not enrolled \(the index service at http:\/\/127\.0\.0\.1:\d+ has no such person/,
      );
      const known = await runCli(['matches', 'emp-1', '--index-url', url], env());
      expect(known.code, known.stderr).toBe(0);
      expect(known.stdout).toBe('0 sighting(s) of emp-1 (none shown)\n');
    } finally {
      await app.close();
      await store.clear();
      redis.disconnect();
    }
  });
});

describe('queues are cleaned up', () => {
  it('the test deployment leaves no job behind', async () => {
    for (const name of [QUEUE_NAMES.enroll, QUEUE_NAMES.identify]) {
      const queue = new Queue(name, queueConnectionOptions(config));
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
