import { redactUrl } from '../util/redact-url.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';

export interface LocalRedis {
  /** How Redis was found: already running, or started here. */
  how: 'running' | 'started';
  stop(): Promise<void>;
}

/**
 * Makes sure Redis answers at `url`: uses one that runs, or starts the machine's `redis-server`
 * on that port (no persistence) for as long as the caller needs it. Throws a message saying what
 * to install or set when neither is possible.
 */
export async function ensureLocalRedis(url: string): Promise<LocalRedis> {
  if (await answers(url)) return { how: 'running', stop: async () => {} };
  const { hostname, port } = new URL(url);
  const local = hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '::1';
  const installed = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!local || !installed) {
    throw new Error(
      `nothing answers at ${redactUrl(url)}, and ${local ? 'redis-server is not installed (Debian/Ubuntu: sudo apt install redis-server)' : 'it is not on this machine'}; ` +
        'start Redis or point REDIS_URL at one',
    );
  }
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', port || '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!(await answers(url))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`redis-server did not start on ${redactUrl(url)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    how: 'started',
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    },
  };
}

async function answers(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
