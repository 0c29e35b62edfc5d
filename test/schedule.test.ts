import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../src/config/app-config.js';
import {
  IdentifySchedules,
  identifyScheduleId,
  ScheduleError,
  validateCron,
  validateTimeZone,
} from '../src/queue/identify-schedule.js';
import type { IdentifyJobData, ScheduleJobData } from '../src/queue/jobs.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { canonicalStorageUrl } from '../src/storage/storage-url.js';
import { scheduledRunId } from '../src/workers/schedule-job-handler.js';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import { BASE_MODEL } from '../src/engine/embedding-model.js';
import { runIdentify } from '../src/producers/identify-run.js';
import { startWorkers } from '../src/workers/worker-process.js';
import { lastJson, runCli, waitFor } from './support/cli-process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = randomBytes(4).toString('hex');

let dir: string;
const queues: Queue[] = [];
const opened: IdentifySchedules[] = [];

function config(name: string): AppConfig {
  return {
    storage: path.join(dir, `storage-${name}`),
    redisUrl: REDIS_URL,
    queuePrefix: `fptest-${runId}-${name}`,
    indexUrl: 'http://127.0.0.1:7070',
  };
}

function schedules(cfg: AppConfig): IdentifySchedules {
  const s = IdentifySchedules.open(cfg);
  opened.push(s);
  queues.push(s.queue);
  return s;
}

function openQueue<T>(name: string, cfg: AppConfig): Queue<T> {
  const queue = new Queue<T>(name, queueConnectionOptions(cfg));
  queues.push(queue);
  return queue;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-schedule-'));
});

afterAll(async () => {
  for (const queue of queues) await queue.obliterate({ force: true }).catch(() => undefined);
  for (const s of opened) await s.close().catch(() => undefined);
  for (const queue of queues) await queue.close().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('validation', () => {
  it('accepts 5- and 6-field cron expressions and aliases, read in the time zone', () => {
    const now = new Date('2026-11-29T12:00:00Z');
    expect(validateCron(' 0 2 * * * ', 'UTC', now)).toEqual({
      cron: '0 2 * * *',
      next: new Date('2026-11-30T02:00:00Z'),
    });
    // 02:00 in Paris is 01:00 UTC in winter.
    expect(validateCron('0 2 * * *', 'Europe/Paris', now).next).toEqual(new Date('2026-11-30T01:00:00Z'));
    expect(validateCron('30 0 2 * * *', 'UTC', now).next).toEqual(new Date('2026-11-30T02:00:30Z'));
    expect(validateCron('@daily', 'UTC', now).next).toEqual(new Date('2026-11-30T00:00:00Z'));
  });

  it('refuses bad cron expressions with a clear error', () => {
    for (const bad of [
      '',
      '   ',
      '0 2 * *',
      '0 2 * * * * *',
      '61 * * * *',
      '0 25 * * *',
      'banana',
      '*/0 * * * *',
      '0 0 30 2 *',
      '@sometimes now',
    ]) {
      expect(() => validateCron(bad), bad).toThrow(ScheduleError);
      expect(() => validateCron(bad), bad).toThrow(/invalid cron expression/);
    }
  });

  it('refuses unknown time zones instead of running in UTC, and canonicalises known ones', () => {
    expect(validateTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(validateTimeZone('europe/paris')).toBe('Europe/Paris');
    expect(validateTimeZone('UTC')).toBe('UTC');
    for (const bad of ['', 'Mars/Olympus', 'Europe/Pariss', '+02:00', 'GMT+25']) {
      expect(() => validateTimeZone(bad), bad).toThrow(/unknown time zone .*IANA/);
    }
  });

  it('derives run ids from scheduled job ids', () => {
    expect(scheduledRunId(`repeat:identify-0123456789ab:${Date.parse('2026-11-30T01:00:00Z')}`)).toBe(
      'identify-0123456789ab-20261130T010000Z',
    );
    expect(scheduledRunId('some-job')).toBeUndefined();
    expect(scheduledRunId('repeat:bad:id:123')).toBeUndefined();
  });
});

describe('IdentifySchedules against Redis', () => {
  it('upserts, lists, updates and removes one scheduler per source', async () => {
    const cfg = config('crud');
    const s = schedules(cfg);
    const source = path.join(dir, 'cctv');
    const canonical = canonicalStorageUrl(source);
    const id = identifyScheduleId(source);
    expect(id).toMatch(/^identify-[0-9a-f]{12}$/);
    expect(identifyScheduleId(`${source}/`)).toBe(id);
    expect(identifyScheduleId(canonical)).toBe(id);

    const created = await s.upsert({ source, cron: '0 2 * * *', tz: 'Europe/Paris' });
    expect(created).toMatchObject({ id, kind: 'identify', source: canonical, cron: '0 2 * * *', tz: 'Europe/Paris' });
    const next = Date.parse(created.next!);
    expect(next).toBeGreaterThan(Date.now());
    expect(next).toBe(validateCron('0 2 * * *', 'Europe/Paris').next.getTime());

    // The scheduler's next job is waiting (delayed) with the documented data.
    const delayed = await s.queue.getDelayed();
    expect(delayed).toHaveLength(1);
    expect(delayed[0].data).toEqual({ kind: 'identify', source: canonical });
    expect(delayed[0].id).toBe(`repeat:${id}:${next}`);
    expect(delayed[0].opts.attempts).toBe(3);

    const other = await s.upsert({ source: 's3://bucket/cctv/cam-2/', cron: '15 3 * * 1-5' });
    expect(other).toMatchObject({
      id: identifyScheduleId('s3://bucket/cctv/cam-2'),
      source: 's3://bucket/cctv/cam-2',
      tz: 'UTC',
    });

    let list = await s.list();
    expect(list.map((x) => x.id).sort()).toEqual([id, other.id].sort());

    // The same source again: the same scheduler, updated (cron, zone, next run), not a second one.
    const updated = await s.upsert({ source: `${source}/`, cron: '30 1 * * *', tz: 'America/New_York' });
    expect(updated).toMatchObject({ id, source: canonical, cron: '30 1 * * *', tz: 'America/New_York' });
    expect(Date.parse(updated.next!)).toBe(validateCron('30 1 * * *', 'America/New_York').next.getTime());
    list = await s.list();
    expect(list).toHaveLength(2);
    expect(list.find((x) => x.id === id)).toEqual(updated);
    const pending = (await s.queue.getDelayed()).filter((job) => job.repeatJobKey === id);
    expect(pending.map((job) => job.id)).toEqual([`repeat:${id}:${Date.parse(updated.next!)}`]);

    // A second scheduler for a scheduled source under another id is refused.
    await expect(s.upsert({ source, cron: '0 4 * * *', id: 'night-cam-1' })).rejects.toThrow(
      new RegExp(`scheduled already as ${id}`),
    );
    // Bad values are refused before Redis is touched.
    await expect(s.upsert({ source, cron: '0 2 * *' })).rejects.toThrow(ScheduleError);
    await expect(s.upsert({ source, cron: '0 2 * * *', tz: 'Mars/Olympus' })).rejects.toThrow(/unknown time zone/);
    await expect(s.upsert({ source: 'ftp://x/y', cron: '0 2 * * *' })).rejects.toThrow(/invalid source/);
    await expect(s.upsert({ source: path.join(dir, 'other'), cron: '0 2 * * *', id: 'bad:id' })).rejects.toThrow(
      /invalid schedule id/,
    );
    expect(await s.get(id)).toEqual(updated);

    // An explicit id.
    const named = await s.upsert({ source: path.join(dir, 'cam-3'), cron: '0 3 * * *', id: 'cam-3-nightly' });
    expect(named.id).toBe('cam-3-nightly');

    expect(await s.remove(id)).toBe(true);
    expect(await s.remove(id)).toBe(false);
    expect((await s.list()).map((x) => x.id).sort()).toEqual(['cam-3-nightly', other.id].sort());
    expect((await s.queue.getDelayed()).filter((job) => job.repeatJobKey === id)).toEqual([]);
  });

  it('keeps deployments apart', async () => {
    const a = schedules(config('dep-a'));
    const b = schedules(config('dep-b'));
    await a.upsert({ source: 's3://bucket/cctv', cron: '0 2 * * *' });
    expect(await b.list()).toEqual([]);
  });
});

describe('facepipe schedule (CLI)', () => {
  it('adds, lists and removes; bad cron and time zone exit 2 with the reason', async () => {
    const cfg = config('cli');
    const env = {
      REDIS_URL,
      FACEPIPE_QUEUE_PREFIX: cfg.queuePrefix,
      FACEPIPE_STORAGE: cfg.storage,
      FACEPIPE_LOG_LEVEL: 'warn',
    };
    const source = path.join(dir, 'cli-cctv');

    const add = await runCli(
      ['schedule', 'identify', source, '--cron', '0 2 * * *', '--tz', 'Europe/Paris', '--json'],
      env,
    );
    expect(add.code, add.stderr).toBe(0);
    const added = lastJson(add);
    expect(added).toMatchObject({
      id: identifyScheduleId(source),
      source: canonicalStorageUrl(source),
      cron: '0 2 * * *',
      tz: 'Europe/Paris',
    });

    const list = await runCli(['schedule', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(lastJson(list)).toEqual([added]);
    const table = await runCli(['schedule', 'list'], env);
    expect(table.stdout).toMatch(/^id\s+kind\s+source\s+cron\s+tz\s+next/);
    expect(table.stdout).toContain(added.id);
    expect(table.stdout).toContain('Europe/Paris');

    const badTz = await runCli(['schedule', 'identify', source, '--cron', '0 2 * * *', '--tz', 'Mars/Olympus'], env);
    expect(badTz.code).toBe(2);
    expect(badTz.stderr).toMatch(/unknown time zone "Mars\/Olympus"/);
    const badCron = await runCli(['schedule', 'identify', source, '--cron', '0 26 * * *'], env);
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toMatch(/invalid cron expression "0 26 \* \* \*"/);
    const inRedis = schedules(cfg);
    expect(await inRedis.list()).toEqual([added]);

    const remove = await runCli(['schedule', 'remove', added.id], env);
    expect(remove.code, remove.stderr).toBe(0);
    const again = await runCli(['schedule', 'remove', added.id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no schedule/);
    expect(await inRedis.list()).toEqual([]);
  });
});

describe('the schedule worker', () => {
  it('runs the identify producer for a scheduled job: identify jobs for the new snapshots', async () => {
    const cfg = config('worker');
    const source = path.join(dir, 'snapshots');
    const keys = ['cam-1/0100.jpg', 'cam-1/0200.jpg', 'cam-2/0100.png'];
    for (const key of keys) {
      await mkdir(path.dirname(path.join(source, key)), { recursive: true });
      const image = sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 120, g: 90, b: 60 } } });
      await writeFile(path.join(source, key), await (key.endsWith('.png') ? image.png() : image.jpeg()).toBuffer());
    }
    await writeFile(path.join(source, 'cam-1', 'notes.txt'), 'not a snapshot');

    const s = schedules(cfg);
    const identify = openQueue<IdentifyJobData>(QUEUE_NAMES.identify, cfg);
    const saved = await s.upsert({ source, cron: '0 2 * * *', tz: 'UTC' });
    // Tonight's job, run now instead of at 02:00.
    const [scheduled] = await s.queue.getDelayed();
    expect(scheduled.data).toEqual<ScheduleJobData>({ kind: 'identify', source: canonicalStorageUrl(source) });
    await scheduled.promote();

    const noEngine: FaceAnalyzer = {
      model: BASE_MODEL,
      analyze: () => Promise.reject(new Error('no engine in this test')),
    };
    const workers = await startWorkers(
      cfg,
      noEngine,
      [QUEUE_NAMES.schedule],
      { concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
      { runIdentify },
    );
    try {
      const state = await waitFor(
        'the scheduled job to finish',
        async () => {
          const st = await s.queue.getJobState(scheduled.id!);
          return st === 'completed' || st === 'failed' ? st : undefined;
        },
        30_000,
      );
      const done = (await s.queue.getJob(scheduled.id!))!;
      expect(state, done.failedReason).toBe('completed');
      const expectedRun = scheduledRunId(scheduled.id!)!;
      expect(expectedRun).toMatch(new RegExp(`^${saved.id}-\\d{8}T\\d{6}Z$`));
      expect(done.returnvalue).toMatchObject({ run: expectedRun, snapshots: 3, enqueued: 3 });

      const jobs = await identify.getJobs();
      expect(jobs.length).toBeGreaterThan(0);
      for (const job of jobs) {
        expect(job.data.sourceUrl).toBe(canonicalStorageUrl(source));
        expect(job.data.run).toBe(expectedRun);
      }
      expect(jobs.flatMap((job) => job.data.items.map((i) => i.key)).sort()).toEqual([...keys].sort());

      // The scheduler lives on: the job after the promoted one is the 02:00 UTC after its time.
      const after = await s.get(saved.id);
      expect(after?.next).toBe(validateCron('0 2 * * *', 'UTC', new Date(saved.next!)).next.toISOString());
    } finally {
      await workers.close();
    }
  });
});
