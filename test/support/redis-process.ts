import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A redis-server of a test's own, on its own port and data folder, that the test may stop and start again. */
export interface RedisTestServer {
  port: number;
  url: string;
  /** Stops the server (SIGTERM: with AOF, what it holds is on disk; without, nothing is). */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the same data folder and settings. */
  start(): Promise<void>;
}

export interface RedisServerOptions {
  /** The data folder (the append-only file goes here). */
  dir: string;
  /** `--appendonly yes|no`. */
  appendOnly: boolean;
}

/** A free TCP port on 127.0.0.1 (chosen by the OS, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts `redis-server --port N --save "" --appendonly yes|no --dir <dir>` (the machine's
 * redis-server) and resolves once it answers PING. No RDB snapshots: without AOF a restart loses
 * everything, as a Redis without persistence does.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisTestServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        options.appendOnly ? 'yes' : 'no',
        '--appendfsync',
        'always',
        '--dir',
        options.dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (code ${child.exitCode})\n${output}`);
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        // not yet listening
      } finally {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} does not answer\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const stop = async (): Promise<void> => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
      running.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      running.kill('SIGTERM');
    });
  };

  await start();
  return { port, url, stop, start };
}
