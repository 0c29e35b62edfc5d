import { afterEach, describe, expect, it } from 'vitest';
import { FaceError } from '../src/errors/face-error.js';
import { WorkerPool } from '../src/engine/worker-pool.js';
import type { EchoWorkerData } from './fixtures/echo-worker.js';

const script = new URL('./fixtures/echo-worker.ts', import.meta.url);
const pools: WorkerPool[] = [];

function makePool(size: number, workerData: EchoWorkerData = {}): WorkerPool {
  const pool = new WorkerPool({ script, size, workerData, name: 'test-pool' });
  pools.push(pool);
  return pool;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close().catch(() => {})));
});

describe('WorkerPool', { timeout: 30_000 }, () => {
  it('runs urgent tasks before every queued ordinary one', async () => {
    const pool = makePool(1);
    await pool.ready();
    const finished: string[] = [];
    const track = (name: string, p: Promise<unknown>) => p.then(() => finished.push(name));
    const busy = track('busy', pool.run('sleep', 150));
    const ordinary = ['a', 'b'].map((name) => track(name, pool.run('sleep', 1)));
    const urgent = track('urgent', pool.run('sleep', 1, undefined, true));
    await Promise.all([busy, ...ordinary, urgent]);
    expect(finished).toEqual(['busy', 'urgent', 'a', 'b']);
  });

  it('runs tasks in worker threads and returns their results', async () => {
    const pool = makePool(2, { initDelayMs: 50 });
    await pool.ready();
    expect(pool.size).toBe(2);
    const payload = { a: 1, list: [1, 2], bytes: new Uint8Array([7, 8, 9]) };
    const [echoed, slept, threadId] = await Promise.all([
      pool.run<typeof payload>('echo', payload),
      pool.run<number>('sleep', 20),
      pool.run<number>('threadId', 0),
    ]);
    expect(echoed).toEqual(payload);
    expect(slept).toBe(20);
    expect(threadId).toBeGreaterThan(0);
    expect(pool.pending).toBe(0);
  });

  it('queues tasks before the workers are ready and counts them as pending', async () => {
    const pool = makePool(1, { initDelayMs: 100 });
    const results = [1, 2, 3].map((n) => pool.run<number>('echo', n));
    expect(pool.pending).toBe(3);
    expect(await Promise.all(results)).toEqual([1, 2, 3]);
    expect(pool.pending).toBe(0);
  });

  it('moves typed arrays returned with withTransfer()', async () => {
    const pool = makePool(1);
    const out = await pool.run<Float32Array>('floats', 4);
    expect(out).toBeInstanceOf(Float32Array);
    expect([...out]).toEqual([0, 1, 2, 3]);
  });

  it('runs two CPU-bound tasks in parallel on two workers', async () => {
    const one = makePool(1);
    const two = makePool(2);
    await Promise.all([one.ready(), two.ready()]);
    const twice = (pool: WorkerPool) => Promise.all([pool.run('cpu', 300), pool.run('cpu', 300)]);
    const serial = await timed(() => twice(one));
    const parallel = await timed(() => twice(two));
    expect(serial).toBeGreaterThanOrEqual(590);
    expect(parallel).toBeLessThan(serial * 0.8);
  });

  it('does not hold quick tasks behind a slow one', async () => {
    const pool = makePool(2);
    await pool.ready();
    const order: string[] = [];
    const slow = pool.run('sleep', 400).then(() => order.push('slow'));
    const quick = [1, 2, 3].map((n) => pool.run('echo', n).then(() => order.push(`quick${n}`)));
    await Promise.all([slow, ...quick]);
    expect(order).toEqual(['quick1', 'quick2', 'quick3', 'slow']);
  });

  it('re-creates FaceError so callers can use instanceof, and other errors as Error', async () => {
    const pool = makePool(1);
    const err = await pool.run('fail', 'not a JPEG').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceError);
    expect((err as FaceError).code).toBe('NOT_AN_IMAGE');
    expect((err as FaceError).message).toBe('not a JPEG');

    const plain = await pool.run('failPlain', 'bad arg').catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(Error);
    expect(plain).not.toBeInstanceOf(FaceError);
    expect((plain as Error).message).toBe('bad arg');

    await expect(pool.run('nope', null)).rejects.toThrow(/unknown worker method "nope"/);
    await expect(pool.run('echo', 'still fine')).resolves.toBe('still fine');
  });

  for (const mode of ['exit', 'throw'] as const) {
    it(`a worker that dies (${mode}) fails only its own task and is replaced`, async () => {
      const pool = makePool(2);
      await pool.ready();
      const threadIds = () => Promise.all([pool.run<number>('threadId', 50), pool.run<number>('threadId', 50)]);
      const before = new Set(await threadIds());
      expect(before.size).toBe(2);

      // One worker takes the crash, the other a slow task; the echoes queue behind both.
      const crash = pool.run('crash', { mode, afterMs: 50 });
      const inFlight = pool.run<number>('sleep', 300);
      const echoes = Array.from({ length: 10 }, (_, i) => pool.run<number>('echo', i));
      await expect(crash).rejects.toThrow(/died while running "crash"/);
      expect(await inFlight).toBe(300);
      expect(await Promise.all(echoes)).toEqual([...Array(10).keys()]);

      // Still two workers afterwards, one of them new (a loaded machine may need a moment to start it:
      // until then both probes run on the survivor).
      let after = new Set(await threadIds());
      for (let i = 0; i < 50 && after.size < 2; i++) after = new Set(await threadIds());
      expect(after.size).toBe(2);
      expect([...after].filter((id) => !before.has(id))).toHaveLength(1);
      expect(pool.pending).toBe(0);
    });
  }

  it('close() waits for running and queued tasks, then refuses new ones', async () => {
    const pool = makePool(1);
    await pool.ready();
    const settled: string[] = [];
    const first = pool.run('sleep', 200).then(() => settled.push('first'));
    const second = pool.run('echo', 'x').then(() => settled.push('second'));
    await pool.close();
    expect(settled).toEqual(['first', 'second']);
    await Promise.all([first, second]);
    await expect(pool.run('echo', 1)).rejects.toThrow(/closed/);
  });

  it('ready() rejects with the error of a worker that fails to start', async () => {
    const pool = makePool(2, { failInit: true });
    const queued = pool.run('echo', 1).catch((e: unknown) => e); // handled at once: it rejects with ready()
    const err = await pool.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceError);
    expect((err as Error).message).toBe('model failed to load');
    expect(await queued).toBe(err);
    await expect(pool.run('echo', 2)).rejects.toThrow('model failed to load');
  });
});
