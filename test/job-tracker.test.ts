import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForJobs } from '../src/queue/job-tracker.js';

const connection = {
  connection: { url: 'redis://127.0.0.1:6379' },
  prefix: `fptest-${randomBytes(4).toString('hex')}`,
};
let queue: Queue;
let worker: Worker;

beforeAll(async () => {
  queue = new Queue('tracked', connection);
});

afterAll(async () => {
  await worker?.close();
  await queue.obliterate({ force: true });
  await queue.close();
});

describe('waitForJobs', () => {
  it('returns every job once finished: return values, failures, and ids Redis no longer knows', async () => {
    const jobs = Array.from({ length: 300 }, (_, i) => ({
      name: 'n',
      data: { i },
      opts: { jobId: `job-${i}`, attempts: 1 },
    }));
    await queue.addBulk(jobs);
    await queue.remove('job-7'); // gone before it ran
    const progress: number[] = [];
    worker = new Worker(
      'tracked',
      async (job) => {
        if (job.data.i % 50 === 3) throw new Error(`bad ${job.data.i}`);
        return { double: job.data.i * 2 };
      },
      { ...connection, concurrency: 8 },
    );
    const result = await waitForJobs<{ double: number }>(
      queue,
      jobs.map((j) => j.opts.jobId),
      {
        pollMs: 20,
        onProgress: ({ completed, failed }) => progress.push(completed.size + failed.size),
      },
    );
    expect(result.completed.size + result.failed.size).toBe(300);
    expect(result.completed.get('job-10')).toEqual({ double: 20 });
    expect([...result.failed.keys()].sort()).toEqual([
      'job-103',
      'job-153',
      'job-203',
      'job-253',
      'job-3',
      'job-53',
      'job-7',
    ]);
    expect(result.failed.get('job-53')).toBe('bad 53');
    expect(result.failed.get('job-7')).toMatch(/removed/);
    expect(progress.at(-1)).toBe(300);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('stops waiting when aborted and returns what finished', async () => {
    await queue.add('n', { i: 1 }, { jobId: 'never', delay: 60_000 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const result = await waitForJobs(queue, ['never'], { pollMs: 20, abort: abort.signal });
    expect(result.completed.size + result.failed.size).toBe(0);
  });
});
