import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A real S3-protocol server (s3rver) in a child process, for tests. */
export interface S3TestServer {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  /** s3rver accepts these (any well-formed signature, in fact). */
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

// Runs inside the child. s3rver is CommonJS; its path comes from the parent.
const CHILD_SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(process.env.S3RVER_PORT || 0),
  directory: process.env.S3RVER_DIRECTORY,
  silent: true,
  configureBuckets: JSON.parse(process.env.S3RVER_BUCKETS).map((name) => ({ name, configs: [] })),
});
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (err) => { console.error(err); process.exit(1); },
);
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
`;

export interface S3ServerOptions {
  /** Listen on this port (default: one the OS chooses). */
  port?: number;
  /** Keep the objects in this folder, and leave it on stop (default: a fresh temp folder, removed on stop). */
  directory?: string;
}

/**
 * Starts s3rver on 127.0.0.1 with an OS-chosen free port and a fresh temp directory, creates
 * `buckets`, and resolves once it answers HTTP. s3rver runs under `--openssl-legacy-provider`:
 * without it, its paginated listing fails on Node 17+. With `options.port` and
 * `options.directory`, a stopped server can be started again on the same address and data.
 */
export async function startS3Server(buckets: string[], options: S3ServerOptions = {}): Promise<S3TestServer> {
  const directory = options.directory ?? (await mkdtemp(path.join(tmpdir(), 'facepipe-s3rver-')));
  const s3rverModule = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT], {
    env: {
      ...process.env,
      NODE_OPTIONS: '', // vitest's loaders are not for this child
      S3RVER_MODULE: s3rverModule,
      S3RVER_DIRECTORY: directory,
      S3RVER_PORT: String(options.port ?? 0),
      S3RVER_BUCKETS: JSON.stringify(buckets),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  const stop = async (): Promise<void> => {
    await killChild(child);
    if (options.directory === undefined) await rm(directory, { recursive: true, force: true });
  };

  try {
    const port = await readPort(child, () => stderr);
    const endpoint = `http://127.0.0.1:${port}`;
    await waitUntilAnswering(endpoint);
    return { endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function readPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('s3rver did not start within 20 s')), 20_000);
    const lines = createInterface({ input: child.stdout! });
    const fail = (err: Error) => {
      clearTimeout(timer);
      lines.close();
      reject(new Error(`${err.message}\n${stderr()}`));
    };
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        fail(new Error(`unexpected output from s3rver: ${line}`));
      }
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`s3rver exited early (code ${code}, signal ${signal})`)));
  });
}

async function waitUntilAnswering(endpoint: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/`);
      await response.arrayBuffer();
      return; // any HTTP answer (ListBuckets) will do
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`s3rver at ${endpoint} does not answer: ${String(err)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
