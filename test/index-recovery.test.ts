/**
 * The index service under damage, as `facepipe serve` runs it (startIndexService: real HTTP, real
 * Redis under a random prefix, a real folder storage): damaged snapshots, corrupt gallery objects,
 * a storage fault that stops the change log, start-up while loading, and erasure of a person.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AppConfig, loadAppConfig } from '../src/config/app-config.js';
import { BASE_MODEL, type EmbeddingModel } from '../src/engine/embedding-model.js';
import type { GalleryRecord } from '../src/gallery/gallery-record.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { type RunningIndexService, startIndexService } from '../src/index/index-service-runtime.js';
import { IndexSnapshotStore } from '../src/index/index-snapshot-store.js';
import { logger } from '../src/logger.js';
import { ChangeLog } from '../src/queue/change-log.js';
import { MatchStore } from '../src/matches/match-store.js';
import { changeLogKey, matchKeyPrefix } from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { waitFor } from './support/cli-process.js';
import { resultJson } from './support/result-json.js';
import { clusteredFaces, prng } from './support/synthetic-embeddings.js';

const DIM = 16;

let dir: string;
let config: AppConfig;
let model: EmbeddingModel;
let storage: FolderStorage;
let gallery: GalleryStore;
let snapshots: IndexSnapshotStore;
let redis: Redis;
let log: ChangeLog;
const running: RunningIndexService[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-index-recovery-'));
  config = loadAppConfig({ storage: dir, queuePrefix: `fptest-${randomBytes(4).toString('hex')}-recovery` });
  model = { ...BASE_MODEL, id: 'recovery-test-model', embeddingSize: DIM };
  storage = new FolderStorage(dir);
  gallery = new GalleryStore(storage, model.id);
  snapshots = new IndexSnapshotStore(storage, model.id);
  redis = new Redis(config.redisUrl);
  log = new ChangeLog(redis, changeLogKey(config, model.id));
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const service of running.splice(0)) await service.close().catch(() => undefined);
  const keys = await redis.keys(`${config.queuePrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

function records(seed: number, persons: number, perPerson: number, dim = DIM): GalleryRecord[] {
  const enrolledAt = new Date().toISOString();
  return clusteredFaces(prng(seed), { dim, persons, perPerson, sigma: 0.1 }).faces.map((face) => ({
    faceId: `${seed}-${face.faceId}`,
    personId: `s${seed}-${face.personId}`,
    source: 'file:///src',
    sourceKey: `${face.personId}/${face.faceId}.jpg`,
    sourceEtag: 'e1',
    box: { x: 0, y: 0, width: 10, height: 10 },
    landmarks: [],
    score: 0.9,
    model: model.id,
    // As the enroll worker writes them: 7 significant digits.
    embedding: Array.from(face.embedding, (v) => Number(v.toPrecision(7))),
    enrolledAt,
  }));
}

/** What a worker does: write a segment, then publish it. */
async function enroll(batch: GalleryRecord[]): Promise<string> {
  const key = await gallery.append(batch);
  await log.publish({ type: 'segment', key });
  return key;
}

async function start(service: { snapshotEveryChanges?: number } = {}, port = 0): Promise<RunningIndexService> {
  const started = await startIndexService(config, {
    port,
    host: '127.0.0.1',
    model,
    service: { readBlockMs: 100, snapshotEveryChanges: 1000, snapshotEveryMs: 3_600_000, ...service },
  });
  running.push(started);
  return started;
}

async function stop(service: RunningIndexService): Promise<void> {
  running.splice(running.indexOf(service), 1);
  await service.close();
}

async function call<T = Record<string, unknown>>(
  service: RunningIndexService | string,
  route: string,
  init: { method?: string; json?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const base = typeof service === 'string' ? service : service.url;
  const res = await fetch(base + route, {
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers: init.json === undefined ? {} : { 'content-type': 'application/json' },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  return { status: res.status, body: (await res.json()) as T };
}

interface Status {
  faces: number;
  ready: boolean;
  loaded?: boolean;
  recovery?: { from: string; skipped: { name: string; reason: string }[] };
  quarantined?: number;
  erasure?: { pending: boolean; at?: string; snapshot?: string; records?: number };
  error?: string;
}

const status = async (service: RunningIndexService) => (await call<Status>(service, '/v1/index')).body;

async function nearest(service: RunningIndexService, vectors: number[][], k = 1) {
  const res = await call<{ results: { personId: string; faceId: string; distance: number }[][] }>(
    service,
    '/v1/search',
    { json: { vectors, k } },
  );
  expect(res.status).toBe(200);
  return res.body.results;
}

describe('a damaged snapshot at start-up', () => {
  const damage = {
    'a truncated index.bin': async (snapshotDir: string) => {
      const bytes = await storage.get(`${snapshotDir}index.bin`);
      await storage.put(`${snapshotDir}index.bin`, bytes.subarray(0, Math.floor(bytes.length / 2)));
    },
    'a wrong checksum in meta.json': async (snapshotDir: string) => {
      const meta = JSON.parse(Buffer.from(await storage.get(`${snapshotDir}meta.json`)).toString('utf8'));
      meta.files['index.bin'] = meta.indexSha256 = '0'.repeat(64);
      await storage.put(`${snapshotDir}meta.json`, JSON.stringify(meta));
    },
    'a missing meta.json': async (snapshotDir: string) => {
      await storage.delete(`${snapshotDir}meta.json`);
    },
    'a tampered maps.json (two labels swapped)': async (snapshotDir: string) => {
      const maps = JSON.parse(Buffer.from(await storage.get(`${snapshotDir}maps.json`)).toString('utf8'));
      const a = maps.faces[0];
      const b = maps.faces.find((face: [number, string, string]) => face[2] !== a[2]);
      [a[2], b[2]] = [b[2], a[2]];
      await storage.put(`${snapshotDir}maps.json`, JSON.stringify(maps));
    },
  };

  it.each(Object.keys(damage) as (keyof typeof damage)[])(
    '%s: falls back to the previous snapshot, says so, and prune removes only the damaged one',
    async (kind) => {
      const warn = vi.spyOn(logger, 'warn');
      const first = records(1, 3, 2);
      await enroll(first);
      let service = await start();
      await waitFor('3 persons', async () => ((await status(service)).faces === 6 ? true : undefined), 20_000, 50);
      await stop(service); // snapshot 1
      const second = records(2, 3, 2);
      await enroll(second);
      service = await start();
      await waitFor('6 persons', async () => ((await status(service)).faces === 12 ? true : undefined), 20_000, 50);
      await stop(service); // snapshot 2
      const [newest, previous] = (await snapshots.list()).map((s) => s.name);
      await damage[kind](`${snapshots.prefix}${newest}/`);

      warn.mockClear();
      service = await start();
      const loaded = await status(service);
      expect(loaded.recovery).toEqual({
        from: 'previous snapshot',
        skipped: [{ name: newest, reason: expect.any(String) }],
      });
      expect(JSON.stringify(warn.mock.calls)).toContain('loaded from previous snapshot');
      // The log after the previous snapshot is replayed: every face, each under its own name.
      await waitFor('replayed', async () => ((await status(service)).faces === 12 ? true : undefined), 20_000, 50);
      const all = [...first, ...second];
      const hits = await nearest(
        service,
        all.map((r) => r.embedding),
      );
      expect(hits.map((h) => h[0].personId)).toEqual(all.map((r) => r.personId));

      await stop(service); // writes snapshot 3 (the replay was unsaved) and prunes
      const left = (await snapshots.list()).map((s) => s.name);
      expect(left).toContain(previous);
      expect(left).not.toContain(newest);
      expect(left).toHaveLength(2);
      // No folder left behind by the removed snapshot.
      expect((await readdir(path.join(dir, snapshots.prefix))).sort()).toEqual([...left].sort());
    },
    60_000,
  );

  it('every snapshot damaged: builds from the gallery and says so', async () => {
    await enroll(records(3, 2, 2));
    let service = await start();
    await waitFor('loaded', async () => ((await status(service)).faces === 4 ? true : undefined), 20_000, 50);
    await stop(service);
    const [only] = await snapshots.list();
    const key = `${snapshots.prefix}${only.name}/index.bin`;
    const bytes = await storage.get(key);
    await storage.put(key, bytes.subarray(0, 100));
    service = await start();
    const loaded = await status(service);
    expect(loaded.recovery?.from).toBe('gallery after damaged snapshots');
    expect(loaded.recovery?.skipped.map((s) => s.name)).toEqual([only.name]);
    expect(loaded.faces).toBe(4);
  }, 60_000);
});

describe('a corrupt gallery object', () => {
  it('is quarantined: the change log goes on, rebuilds and readers work, /v1/index and /metrics count it', async () => {
    const good = records(4, 2, 2);
    await enroll(good);
    const service = await start();
    await waitFor('loaded', async () => ((await status(service)).faces === 4 ? true : undefined), 20_000, 50);

    // Two kinds of damage: bytes that are not JSON lines, and a record with the wrong embedding size.
    const notJson = `${gallery.prefix}segments/zz-not-json.jsonl`;
    await storage.put(notJson, '{"faceId": "x", "personId": "y", "embe');
    await log.publish({ type: 'segment', key: notJson });
    const wrongSize = await gallery.append(records(5, 1, 1, DIM + 3));
    await log.publish({ type: 'segment', key: wrongSize });
    const later = records(6, 2, 1);
    await enroll(later);

    await waitFor('later faces', async () => ((await status(service)).faces === 6 ? true : undefined), 20_000, 50);
    const after = await status(service);
    expect(after.quarantined).toBe(2);
    expect(after.ready).toBe(true);
    expect((await call(service, '/readyz')).status).toBe(200);
    const moved = (await storage.list(gallery.quarantinePrefix)).items.map((item) => item.key).sort();
    expect(moved).toEqual(
      [notJson, wrongSize].map((key) => `${gallery.quarantinePrefix}${key.slice(gallery.prefix.length)}`).sort(),
    );
    expect(await storage.head(notJson)).toBeNull();
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^facepipe_gallery_quarantined_objects 2$/m);

    // Every reader of the gallery goes on: a fresh store (as the enroll producer reads it), a rebuild.
    await storage.put(`${gallery.prefix}segments/zz-again.jsonl`, 'garbage\n');
    const live = await new GalleryStore(storage, model.id).readAll();
    expect(live.map((r) => r.faceId).sort()).toEqual([...good, ...later].map((r) => r.faceId).sort());
    expect((await call(service, '/v1/index/rebuild', { json: {} })).status).toBe(202);
    await waitFor('rebuilt', async () => {
      const s = (await call<{ rebuild: { state: string } }>(service, '/v1/index')).body;
      return s.rebuild.state === 'done' ? true : undefined;
    });
    expect((await status(service)).faces).toBe(6);
  }, 60_000);

  it('a change-log entry that can never apply is skipped, not retried forever', async () => {
    await enroll(records(14, 2, 1));
    const service = await start();
    await waitFor('loaded', async () => ((await status(service)).faces === 2 ? true : undefined), 20_000, 50);
    await redis.xadd(log.key, '*', 'change', '{"type": "segment", "key": ');
    await redis.xadd(log.key, '*', 'change', JSON.stringify({ type: 'delete', personId: 42 }));
    await log.publish({ type: 'segment', key: 'elsewhere/segments/x.jsonl' });
    await enroll(records(15, 2, 1));
    await waitFor('later faces', async () => ((await status(service)).faces === 4 ? true : undefined), 20_000, 50);
    expect((await call(service, '/readyz')).status).toBe(200);
  }, 60_000);

  it('a storage fault that stops the change log makes /readyz say so, until it clears', async () => {
    await enroll(records(7, 2, 1));
    const service = await start();
    await waitFor('ready', async () => ((await call(service, '/readyz')).status === 200 ? true : undefined));
    // A segment the storage cannot read (a symlink loop: ELOOP), not a missing or corrupt one.
    const stuck = `${gallery.prefix}segments/zz-loop.jsonl`;
    const file = path.join(dir, stuck);
    await symlink(file, file);
    await log.publish({ type: 'segment', key: stuck });
    await waitFor('not ready', async () => ((await call(service, '/readyz')).status === 503 ? true : undefined));
    expect((await status(service)).error).toMatch(/ELOOP/);
    await unlink(file); // now simply missing: skipped
    await waitFor('ready again', async () => ((await call(service, '/readyz')).status === 200 ? true : undefined));
  }, 60_000);
});

describe('start-up', () => {
  it('removes the temp folders of index writers that died, not those of live ones', async () => {
    // A real process that wrote an index temp folder and was killed before removing it.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const pid = child.pid!;
    const dead = path.join(tmpdir(), `facepipe-index-${pid}-killed`);
    await mkdir(dead, { recursive: true });
    await writeFile(path.join(dead, 'index.hnsw'), 'half an index');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const live = await mkdtemp(path.join(tmpdir(), `facepipe-index-${process.pid}-`));
    try {
      await start();
      await expect(stat(dead)).rejects.toThrow(/ENOENT/);
      expect((await stat(live)).isDirectory()).toBe(true);
    } finally {
      await rm(live, { recursive: true, force: true });
      await rm(dead, { recursive: true, force: true });
    }
  }, 60_000);

  it('answers while it loads: /healthz 200, /readyz and search 503 NOT_READY, then serves', async () => {
    // Large enough that building it from the gallery takes seconds.
    const dim = 64;
    model = { ...model, id: 'recovery-test-model-large', embeddingSize: dim };
    gallery = new GalleryStore(storage, model.id);
    log = new ChangeLog(redis, changeLogKey(config, model.id));
    const faces = records(8, 3000, 2, dim);
    await gallery.append(faces);

    const port = await freePort();
    const starting = start({}, port);
    const base = `http://127.0.0.1:${port}`;
    // The first answer the service gives, whatever it is: before the fix, the port refused
    // connections until the index was loaded, and the first answer was already "ready".
    await waitFor('an answer', () => fetch(`${base}/healthz`).then((res) => (res.ok ? true : undefined)), 60_000, 5);
    expect((await call(base, '/healthz')).status).toBe(200);
    expect((await call(base, '/readyz')).status).toBe(503);
    const search = await call<{ error: { code: string } }>(base, '/v1/search', {
      json: { vectors: [faces[0].embedding], k: 1 },
    });
    expect(search.status).toBe(503);
    expect(search.body.error.code).toBe('NOT_READY');
    expect((await call<Status>(base, '/v1/index')).body.loaded).toBe(false);

    const service = await starting;
    await waitFor('ready', async () => ((await call(service, '/readyz')).status === 200 ? true : undefined));
    expect((await nearest(service, [faces[0].embedding]))[0][0].faceId).toBe(faces[0].faceId);
  }, 120_000);
});

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every file under `root`, recursively. */
async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  // A folder pruned between two listings (old snapshots) holds nothing any more.
  const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  for (const entry of entries) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

/** Every value of every Redis key of the deployment, as bytes. */
async function redisBytes(prefix: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const key of await redis.keys(`${prefix}*`)) {
    const type = await redis.type(key);
    if (type === 'string') out.push((await redis.getBuffer(key)) ?? Buffer.alloc(0));
    else if (type === 'hash') out.push(...(await redis.hgetallBuffer(key).then((h) => Object.values(h))));
    else if (type === 'list') out.push(...(await redis.lrangeBuffer(key, 0, -1)));
    else if (type === 'set') out.push(...(await redis.smembersBuffer(key)));
    else if (type === 'zset') out.push(...(await redis.zrangeBuffer(key, 0, -1)));
    else if (type === 'stream')
      for (const [, fields] of await redis.xrangeBuffer(key, '-', '+')) out.push(...(fields as Buffer[]));
    out.push((await redis.dumpBuffer(key)) ?? Buffer.alloc(0));
  }
  return out;
}

describe('erasure', () => {
  it('deleting a person erases their embedding from every stored byte within the documented bound', async () => {
    const others = records(9, 3, 2);
    const target = records(10, 1, 2).map((r) => ({ ...r, personId: 'gone-person' }));
    // The same segment holds the target and others: it must be rewritten, not only removed.
    await enroll([...others.slice(0, 3), ...target]);
    await enroll(others.slice(3));
    const service = await start({ snapshotEveryChanges: 1 });
    await waitFor('loaded', async () => ((await status(service)).faces === 8 ? true : undefined), 20_000, 50);
    await waitFor('a snapshot', async () => ((await snapshots.list()).length > 0 ? true : undefined));
    // Bytes to look for: the float32 vectors (index files) and the decimals of the JSON (segments).
    const needles = target.flatMap((r) => [
      Buffer.from(new Float32Array(r.embedding).buffer),
      Buffer.from(JSON.stringify(r.embedding.slice(0, 3)).slice(1, -1)),
    ]);
    const found = async () => {
      const hits: string[] = [];
      for (const file of await filesUnder(dir)) {
        // A writer's temp file may be renamed between the listing and the read: its bytes are
        // read under the final name on the next scan.
        const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return Buffer.alloc(0);
          throw err;
        });
        if (needles.some((needle) => bytes.includes(needle))) hits.push(path.relative(dir, file));
      }
      for (const bytes of await redisBytes(config.queuePrefix))
        if (needles.some((needle) => bytes.includes(needle))) hits.push('redis');
      return hits;
    };
    expect((await found()).length).toBeGreaterThan(1); // the segment and the snapshot hold it now

    // A sighting of them ("where was X seen") goes with them.
    const sightings = new MatchStore(redis, matchKeyPrefix(config));
    await sightings.recordResult(
      'night-1',
      'cam-1/0215.jpg',
      resultJson('cam-1/0215.jpg', [{ personId: 'gone-person' }]),
    );
    await sightings.recordResult(
      'night-1',
      'cam-1/0216.jpg',
      resultJson('cam-1/0216.jpg', [{ personId: others[0].personId }]),
    );
    expect((await sightings.query('gone-person')).total).toBe(1);

    const deletedAt = Date.now();
    const res = await call<{ removed: number }>(service, '/v1/persons/gone-person', { method: 'DELETE' });
    expect(res.body.removed).toBe(2);
    // The documented bound (docs/operations.md, "Erasure"): one turn of the change log plus one pass
    // over the gallery and one snapshot; seconds for a gallery this size.
    const erased = await waitFor(
      'erasure',
      async () => {
        const { erasure } = await status(service);
        return erasure?.at !== undefined && !erasure.pending ? erasure : undefined;
      },
      10_000,
      20,
    );
    const seconds = (Date.now() - deletedAt) / 1000;
    expect(erased.records).toBe(2);
    expect(await found()).toEqual([]);
    expect((await sightings.query('gone-person')).total).toBe(0);
    expect((await sightings.query(others[0].personId)).total).toBe(1);
    expect(seconds).toBeLessThan(10);
    process.stderr.write(`erasure: bytes gone ${seconds.toFixed(2)} s after DELETE answered\n`);

    // The rest is intact, and a restart loads an index without them.
    await stop(service);
    const again = await start();
    const hits = await nearest(
      again,
      others.map((r) => r.embedding),
    );
    expect(hits.map((h) => h[0].faceId)).toEqual(others.map((r) => r.faceId));
    expect((await call(again, '/v1/persons/gone-person')).status).toBe(404);
    expect(await found()).toEqual([]);
  }, 60_000);
});

describe('read replicas', () => {
  it('two services on one change log answer the same search identically after adds, deletions and a rebuild', async () => {
    const first = records(11, 8, 3);
    await enroll(first);
    const a = await start();
    const b = await start();
    const queries = records(12, 8, 2).map((r) => r.embedding);
    const probe = [...queries, ...first.map((r) => r.embedding)];
    const both = async (expectedFaces: number) => {
      for (const service of [a, b])
        await waitFor(
          `${expectedFaces} faces`,
          async () => ((await status(service)).faces === expectedFaces ? true : undefined),
          20_000,
          50,
        );
      const [ra, rb] = await Promise.all([a, b].map((service) => nearest(service, probe, 5)));
      expect(rb).toEqual(ra);
      return ra;
    };
    await both(24);

    // A person deleted through one replica, faces of another through the log (as a worker would).
    const gone = first[0].personId;
    expect((await call(a, `/v1/persons/${gone}`, { method: 'DELETE' })).status).toBe(200);
    const faceIds = first
      .filter((r) => r.personId === first[5].personId)
      .map((r) => r.faceId)
      .slice(0, 2);
    const deletedAt = new Date().toISOString();
    await gallery.tombstone({ personId: first[5].personId, deletedAt, faceIds });
    await log.publish({ type: 'delete', personId: first[5].personId, deletedAt, faceIds });
    let results = await both(19);
    expect(results.flat().some((hit) => hit.personId === gone || faceIds.includes(hit.faceId))).toBe(false);

    // A rebuild on one replica only, then more changes.
    expect((await call(b, '/v1/index/rebuild', { json: {} })).status).toBe(202);
    await waitFor('rebuilt', async () => {
      const s = (await call<{ rebuild: { state: string } }>(b, '/v1/index')).body;
      return s.rebuild.state === 'done' ? true : undefined;
    });
    const more = records(13, 2, 2);
    await enroll(more);
    results = await both(23);
    expect(results.flat().some((hit) => hit.personId === gone)).toBe(false);
    for (const service of [a, b]) expect((await status(service)).erasure?.pending).toBe(false);
  }, 90_000);
});
