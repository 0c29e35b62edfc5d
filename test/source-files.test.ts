/**
 * What a folder source holds besides images (issue 21, section 3): symbolic links are refused by
 * default (left out of listings, counted as SYMLINK_REFUSED; a key through one is never read),
 * FACEPIPE_FOLLOW_SYMLINKS=true follows them; files of unsupported types (.bmp, .pgm, .txt) are
 * counted and listed as UNSUPPORTED_TYPE in the enroll and identify summaries, text and --json.
 * Real Redis for the producers (no workers needed: nothing here is identified).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig, type AppConfig } from '../src/config/app-config.js';
import { listEnrollItems } from '../src/producers/enroll-items.js';
import { runEnroll, type EnrollEnqueueReport } from '../src/producers/enroll-run.js';
import { type IdentifyRunReport, runIdentify } from '../src/producers/identify-run.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { listAll } from '../src/storage/list-all.js';
import { SymlinkRefusedError } from '../src/storage/symlink-refused-error.js';
import { lastJson, runCli } from './support/cli-process.js';
import { Redis } from 'ioredis';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { ChangeLog } from '../src/queue/change-log.js';
import { openSourceStorage } from '../src/storage/open-storage.js';
import { canonicalStorageUrl } from '../src/storage/storage-url.js';
import { EnrollJobHandler } from '../src/workers/enroll-job-handler.js';

let dir: string;
let archive: string;
let config: AppConfig;
let env: Record<string, string>;

const SECRET = 'outside the source: never to be read';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-source-files-'));
  archive = path.join(dir, 'archive');
  const outside = path.join(dir, 'outside');
  await mkdir(path.join(archive, 'ann'), { recursive: true });
  await mkdir(path.join(outside, 'eve'), { recursive: true });
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
  await writeFile(path.join(archive, 'ann', '1.jpg'), jpeg);
  await writeFile(path.join(archive, 'ann', '2.bmp'), Buffer.from('BM fake bitmap'));
  await writeFile(path.join(archive, 'ann', '3.pgm'), Buffer.from('P5\n1 1\n255\n\0'));
  await writeFile(path.join(archive, 'ann', 'notes.txt'), 'a note');
  // Links inside the source to what lies outside it: a file and a whole person folder.
  await writeFile(path.join(outside, 'secret.jpg'), SECRET);
  await writeFile(path.join(outside, 'eve', '1.jpg'), jpeg);
  await symlink(path.join(outside, 'secret.jpg'), path.join(archive, 'ann', 'link.jpg'));
  await symlink(path.join(outside, 'eve'), path.join(archive, 'eve'));

  env = {
    FACEPIPE_STORAGE: path.join(dir, 'data'),
    FACEPIPE_QUEUE_PREFIX: `fptest-${randomBytes(4).toString('hex')}`,
  };
  config = loadAppConfig({}, env);
});

afterAll(async () => {
  for (const name of [QUEUE_NAMES.enroll, QUEUE_NAMES.identify]) {
    const queue = new Queue(name, queueConnectionOptions(config));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  await rm(dir, { recursive: true, force: true });
});

describe('symbolic links in a folder source', () => {
  it('are left out of listings and reported, and a key through one is refused, by default', async () => {
    const source = new FolderStorage(archive, { followSymlinks: false });
    const refused: string[] = [];
    const keys: string[] = [];
    for await (const object of listAll(source, '', 2, (r) => refused.push(`${r.key} ${r.code}`))) keys.push(object.key);
    expect(keys).toEqual(['ann/1.jpg', 'ann/2.bmp', 'ann/3.pgm', 'ann/notes.txt']);
    expect(refused.sort()).toEqual(['ann/link.jpg SYMLINK_REFUSED', 'eve SYMLINK_REFUSED']);
    await expect(source.get('ann/link.jpg')).rejects.toBeInstanceOf(SymlinkRefusedError);
    await expect(source.get('eve/1.jpg')).rejects.toMatchObject({ code: 'SYMLINK_REFUSED' });
    await expect(source.head('ann/link.jpg')).rejects.toMatchObject({ code: 'SYMLINK_REFUSED' });
    await expect(source.put('eve/planted.jpg', 'x')).rejects.toMatchObject({ code: 'SYMLINK_REFUSED' });
    expect(Buffer.from(await source.get('ann/1.jpg')).length).toBeGreaterThan(0);

    // The documented option follows them.
    const following = new FolderStorage(archive, { followSymlinks: true });
    const all: string[] = [];
    for await (const object of listAll(following, '')) all.push(object.key);
    expect(all).toContain('ann/link.jpg');
    expect(all).toContain('eve/1.jpg');
    expect(Buffer.from(await following.get('ann/link.jpg')).toString()).toBe(SECRET);
  });

  it('a manifest line naming a link or a key outside the source fails that line, not the run', async () => {
    const source = new FolderStorage(archive, { followSymlinks: false });
    const listing = await listEnrollItems(source, {
      manifest: [
        { key: 'ann/1.jpg', personId: 'ann', line: 1 },
        { key: 'ann/link.jpg', personId: 'ann', line: 2 },
        { key: '../outside/secret.jpg', personId: 'ann', line: 3 },
        { key: 'eve/1.jpg', personId: 'eve', line: 4 },
      ],
    });
    expect(listing.items.map((i) => i.key)).toEqual(['ann/1.jpg']);
    expect(listing.invalid.map((i) => [i.key, i.code])).toEqual([
      ['../outside/secret.jpg', 'INVALID_KEY'],
      ['ann/link.jpg', 'SYMLINK_REFUSED'],
      ['eve/1.jpg', 'SYMLINK_REFUSED'],
    ]);
  });
});

describe('a job reaching a link', () => {
  it('fails that image with SYMLINK_REFUSED (not a retry, not a read of the target)', async () => {
    const storageUrl = canonicalStorageUrl(config.storage);
    const gallery = new GalleryStore(new FolderStorage(config.storage), FACE_MODEL.id);
    const redis = new Redis(config.redisUrl);
    const changes = `${config.queuePrefix}:test-changes`;
    // The link is refused before any image is analysed: an analyzer that is reached fails the test.
    const unreached = {
      model: FACE_MODEL,
      analyze: async () => {
        throw new Error('the analyzer was reached: the link was read');
      },
    } as unknown as FaceAnalyzer;
    try {
      const handler = new EnrollJobHandler({
        analyzer: unreached,
        gallery,
        changeLog: new ChangeLog(redis, changes),
        storageUrl,
        openSource: (url) => openSourceStorage(url),
      });
      const result = await handler.handle('enroll-link-test', {
        storageUrl,
        sourceUrl: canonicalStorageUrl(archive),
        model: FACE_MODEL.id,
        items: [{ key: 'ann/link.jpg', personId: 'ann', etag: 'x', size: 1 }],
      });
      expect(result).toMatchObject({ images: 1, enrolled: 0, failed: 1, errors: { SYMLINK_REFUSED: 1 } });
      expect((await gallery.readFailures()).map((f) => f.code)).toEqual(['SYMLINK_REFUSED']);
    } finally {
      await redis.del(changes);
      redis.disconnect();
    }
  });
});

describe('files a run does not read', () => {
  it('enroll counts and lists unsupported types and refused links (not silently skipped)', async () => {
    const report = (await runEnroll(config, { source: archive })) as EnrollEnqueueReport;
    expect(report).toMatchObject({ images: 1, enqueued: 1 });
    expect(report.skippedByCode).toEqual({ UNSUPPORTED_TYPE: 3, SYMLINK_REFUSED: 2 });
    expect(report.skippedFiles.map((f) => [f.key, f.code])).toEqual([
      ['ann/2.bmp', 'UNSUPPORTED_TYPE'],
      ['ann/3.pgm', 'UNSUPPORTED_TYPE'],
      ['ann/link.jpg', 'SYMLINK_REFUSED'],
      ['ann/notes.txt', 'UNSUPPORTED_TYPE'],
      ['eve', 'SYMLINK_REFUSED'],
    ]);
    expect(report.skippedFiles[0].message).toMatch(/\.bmp/);
  });

  it('identify counts and lists them too, in the run record, the text summary and --json', async () => {
    const report = (await runIdentify(config, { source: archive, run: 'files-1' })) as IdentifyRunReport;
    expect(report).toMatchObject({ snapshots: 1, enqueued: 1 });
    expect(report.skippedByCode).toEqual({ UNSUPPORTED_TYPE: 3, SYMLINK_REFUSED: 2 });

    const json = lastJson(await runCli(['identify', archive, '--run', 'files-2', '--json'], env));
    expect(json.skippedByCode).toEqual({ UNSUPPORTED_TYPE: 3, SYMLINK_REFUSED: 2 });
    expect(json.skippedFiles).toHaveLength(5);

    const text = await runCli(['identify', archive, '--run', 'files-3'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/not read \(5: SYMLINK_REFUSED 2, UNSUPPORTED_TYPE 3\)/);
    expect(text.stdout).toMatch(/ann\/2\.bmp\tUNSUPPORTED_TYPE\t/);
    expect(text.stdout).toMatch(/ann\/link\.jpg\tSYMLINK_REFUSED\t/);

    // The documented option: the links are followed, their images offered.
    const followed = lastJson(
      await runCli(['identify', archive, '--run', 'files-4', '--json', '--follow-symlinks'], env),
    );
    expect(followed).toMatchObject({ snapshots: 3, skippedByCode: { UNSUPPORTED_TYPE: 3 } });
  }, 60_000);
});
