import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../src/engine/micro-batcher.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A batcher that doubles numbers and records each batch it was given. */
function doubler(maxBatch: number, maxWaitMs: number, delayMs = 0) {
  const batches: number[][] = [];
  const batcher = new MicroBatcher<number, number>({
    maxBatch,
    maxWaitMs,
    process: async (items) => {
      batches.push(items);
      await sleep(delayMs);
      return items.map((n) => n * 2);
    },
  });
  return { batcher, batches };
}

describe('MicroBatcher', () => {
  it('sends a batch as soon as it reaches maxBatch', async () => {
    const { batcher, batches } = doubler(3, 10_000);
    const results = Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => batcher.add(n)));
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]); // sent synchronously, without waiting for the timer
    await batcher.close(); // sends the remainder
    expect(await results).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('merges items that arrive within maxWaitMs of the first one', async () => {
    const { batcher, batches } = doubler(100, 50);
    const results: Promise<number>[] = [];
    for (let n = 1; n <= 5; n++) {
      results.push(batcher.add(n));
      await sleep(1);
    }
    expect(batches).toEqual([]);
    expect(await Promise.all(results)).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1, 2, 3, 4, 5]]);

    // A later item starts a new batch (and a new timer).
    expect(await batcher.add(6)).toBe(12);
    expect(batches).toEqual([[1, 2, 3, 4, 5], [6]]);
  });

  it('gives each concurrent caller its own result, in order, with batches in flight together', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const batcher = new MicroBatcher<string, string>({
      maxBatch: 4,
      maxWaitMs: 5,
      process: async (items) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await sleep(30);
        inFlight--;
        return items.map((s) => s.toUpperCase());
      },
    });
    const words = Array.from({ length: 10 }, (_, i) => `w${i}`);
    const callers = words.map(async (w) => ({ w, out: await batcher.add(w) }));
    for (const { w, out } of await Promise.all(callers)) expect(out).toBe(w.toUpperCase());
    expect(maxInFlight).toBeGreaterThanOrEqual(2);
  });

  it('rejects only the items of a batch whose process() rejects', async () => {
    const batcher = new MicroBatcher<number, number>({
      maxBatch: 2,
      maxWaitMs: 10,
      process: async (items) => {
        if (items.includes(3)) throw new Error('batch failed');
        return items;
      },
    });
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => batcher.add(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason.message).toBe('batch failed');
    expect((results[3] as PromiseRejectedResult).reason.message).toBe('batch failed');
  });

  it('rejects just the items whose output is an Error', async () => {
    const batcher = new MicroBatcher<number, number | Error>({
      maxBatch: 4,
      maxWaitMs: 10,
      process: async (items) => items.map((n) => (n % 2 ? n : new Error(`even ${n}`))),
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.add(n)));
    expect(results).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: new Error('even 2') },
      { status: 'fulfilled', value: 3 },
      { status: 'rejected', reason: new Error('even 4') },
    ]);
  });

  it('rejects the whole batch if process() returns the wrong number of outputs', async () => {
    const batcher = new MicroBatcher<number, number>({ maxBatch: 2, maxWaitMs: 10, process: async () => [1] });
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
  });

  it('flush() sends waiting items at once; close() waits and then refuses new items', async () => {
    const { batcher, batches } = doubler(10, 10_000, 20);
    const a = batcher.add(1);
    const b = batcher.add(2);
    expect(batcher.waitingCount).toBe(2);
    const flushed = batcher.flush();
    expect(batches).toEqual([[1, 2]]);
    expect(batcher.inFlightCount).toBe(1);
    await flushed;
    expect(await Promise.all([a, b])).toEqual([2, 4]);

    const c = batcher.add(3);
    await batcher.close();
    expect(batcher.inFlightCount).toBe(0);
    expect(await c).toBe(6);
    await expect(batcher.add(4)).rejects.toThrow(/closed/);
  });
});
