/**
 * Storage writes are atomic in the folder backend (issue 21, section 2): a writer process killed
 * with SIGKILL in the middle of its writes leaves every object whole (the old content or the new,
 * never half of it), its temp files out of listings, and a worker starting later removes the temp
 * files of killed writers by age (a fresh one, maybe a live write, is left alone).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../src/config/app-config.js';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { QUEUE_NAMES } from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { listAll } from '../src/storage/list-all.js';
import { startWorkers } from '../src/workers/worker-process.js';
import { ROOT, waitFor } from './support/cli-process.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-atomic-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every file under `root` (temp files included), relative, '/'-separated. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

const isTemp = (file: string) => path.basename(file).startsWith('.facepipe-tmp-');

/** Starts the writer, lets it finish `writes` puts, then kills it with SIGKILL a random few ms later. */
async function killMidWrite(root: string, seed: number, writes: number): Promise<void> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/fixtures/storage-writer.ts'), root, String(seed)],
    { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let done = 0;
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (done += chunk.toString().split('\n').filter(Boolean).length));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<string | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  await waitFor(
    `writer wrote ${writes} objects (${stderr})`,
    async () => (done >= writes ? true : undefined),
    60_000,
    10,
  );
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 40)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

describe('folder storage writes are atomic', () => {
  it('a writer killed mid-write leaves every object whole; a starting worker removes old temp files', async () => {
    const root = path.join(dir, 'data');
    let tempsLeft = 0;
    for (let round = 1; round <= 6; round++) {
      await killMidWrite(root, round, 3 + round);
      const files = await filesUnder(root);
      tempsLeft += files.filter(isTemp).length;
      // Every object reads back whole: it parses (the writer's content is JSON), or it does not exist yet.
      for (const file of files.filter((f) => !isTemp(f))) {
        const text = await readFile(path.join(root, file), 'utf8');
        expect(() => JSON.parse(text), `${file} after kill ${round} (${text.length} bytes)`).not.toThrow();
      }
    }
    // The kills landed inside writes (else this proves nothing): their temp files are there...
    expect(tempsLeft).toBeGreaterThan(0);
    // ...and never listed as objects.
    const storage = new FolderStorage(root);
    const listed: string[] = [];
    for await (const { key } of listAll(storage, '')) listed.push(key);
    expect(listed.filter(isTemp)).toEqual([]);
    expect(listed.length).toBeGreaterThan(0);

    // Those temp files are a killed writer's once old; one written just now may be a live write.
    const temps = (await filesUnder(root)).filter(isTemp);
    expect(temps.length).toBeGreaterThan(0);
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const temp of temps) await utimes(path.join(root, temp), hourAgo, hourAgo);
    const live = 'facepipe/results/run-1/.facepipe-tmp-0123456789abcdef';
    await writeFile(path.join(root, live), 'a write in flight');

    // A worker starting on this storage cleans them (the schedule queue: no engine needed).
    const config = loadAppConfig({ storage: root, queuePrefix: `fptest-${randomBytes(4).toString('hex')}` });
    const noEngine = { model: FACE_MODEL } as unknown as FaceAnalyzer;
    const workers = await startWorkers(
      config,
      noEngine,
      [QUEUE_NAMES.schedule],
      { concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
      {
        runIdentify: async () => ({
          run: 'x',
          since: null,
          resultsPrefix: '',
          snapshots: 0,
          alreadyDone: 0,
          alreadyQueued: 0,
          enqueued: 0,
          jobs: 0,
        }),
      },
    );
    try {
      const left = await waitFor('old temp files removed', async () => {
        const now = (await filesUnder(root)).filter(isTemp);
        return now.length === 1 ? now : undefined;
      });
      expect(left).toEqual([live]);
    } finally {
      await workers.close();
    }
  }, 120_000);
});
