/**
 * `facepipe up` when a later start step fails: the metrics port (--metrics-port) is taken, after the
 * index service and the workers have started. The command must stop what it started and exit 1
 * with the reason, not stay alive as a half-started system (an index service listening, workers
 * taking jobs) that nobody asked for. Real process, real Redis, real engine.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { type CliProcess, startCli } from './support/cli-process.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const TIMEOUT = 180_000;
const prefix = `fptest-${randomBytes(4).toString('hex')}`;
let dir: string;
let taken: Server;
let cli: CliProcess | undefined;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-up-'));
  taken = createServer();
});

afterAll(async () => {
  if (cli && cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
  await new Promise((resolve) => taken.close(resolve));
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

describe('facepipe up', () => {
  it('stops the index service and the workers it started when a later step fails, and exits 1', {
    timeout: TIMEOUT,
  }, async () => {
    const metricsPort = await listen(taken);
    const free = createServer();
    const port = await listen(free);
    await new Promise((resolve) => free.close(resolve));

    cli = startCli(['--threads', '1', 'up', '--port', String(port), '--metrics-port', String(metricsPort)], {
      REDIS_URL,
      FACEPIPE_STORAGE: path.join(dir, 'data'),
      FACEPIPE_QUEUE_PREFIX: prefix,
      FACEPIPE_INDEX_URL: `http://127.0.0.1:${port}`,
      FACEPIPE_LOG_FORMAT: 'json',
    });
    const outcome = await Promise.race([
      cli.exited,
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 120 s'), 120_000)),
    ]);
    const stderr = cli.stderr();
    expect(outcome, stderr).toBe(1);
    // The earlier steps did run (the service listened, workers took the queues) before the port clash.
    expect(stderr).toContain('index service listening');
    expect(stderr).toMatch(new RegExp(`^facepipe: listen EADDRINUSE: .*:${metricsPort}$`, 'm'));

    // Nothing of it is left: the service's port is closed, no worker is registered on the queues.
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    for (const name of [QUEUE_NAMES.enroll, QUEUE_NAMES.identify]) {
      const queue = new Queue(
        name,
        queueConnectionOptions({ redisUrl: REDIS_URL, queuePrefix: prefix, storage: path.join(dir, 'data') }),
      );
      expect(await queue.getWorkersCount()).toBe(0);
      await queue.close();
    }
  });
});
