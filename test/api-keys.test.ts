/**
 * API keys end to end: the real index service (startIndexService: real Redis under a random
 * prefix, a folder storage, real HTTP) with keys made by ApiKeyStore and `facepipe keys` (a real
 * CLI process), and the key helpers on their own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppConfig, loadAppConfig } from '../src/config/app-config.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { ApiKeyRing } from '../src/index/auth/api-key-ring.js';
import { ApiKeyStore } from '../src/index/auth/api-key-store.js';
import { hashApiKey, keyFromHeaders, roleAllows } from '../src/index/auth/api-key.js';
import { parseEnvApiKeys } from '../src/index/auth/env-api-keys.js';
import { isLoopbackHost } from '../src/index/auth/loopback-host.js';
import { FaceIndex } from '../src/index/face-index.js';
import { IndexClient } from '../src/index/index-client.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { IndexServiceError } from '../src/index/index-service-error.js';
import { type RunningIndexService, startIndexService } from '../src/index/index-service-runtime.js';
import { apiKeysKey } from '../src/queue/queue-names.js';
import { lastJson, runCli } from './support/cli-process.js';
import { clusteredFaces, prng } from './support/synthetic-embeddings.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Every route of the service and the role it needs (public routes need none). */
const ROUTES: {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  role: 'public' | 'read' | 'admin';
  body?: unknown;
}[] = [
  { method: 'GET', url: '/healthz', role: 'public' },
  { method: 'GET', url: '/readyz', role: 'public' },
  { method: 'GET', url: '/metrics', role: 'public' },
  { method: 'GET', url: '/openapi.json', role: 'public' },
  { method: 'GET', url: '/docs', role: 'public' },
  { method: 'GET', url: '/queues', role: 'admin' },
  { method: 'GET', url: '/queues/api/queues', role: 'admin' },
  { method: 'POST', url: '/v1/search', role: 'read', body: { vectors: [[0.1, 0.2]] } },
  { method: 'POST', url: '/v1/identify', role: 'read' },
  { method: 'POST', url: '/v1/verify?personId=p1', role: 'read' },
  { method: 'GET', url: '/v1/persons', role: 'read' },
  { method: 'GET', url: '/v1/persons/p1', role: 'read' },
  { method: 'GET', url: '/v1/persons/p1/matches', role: 'read' },
  { method: 'GET', url: '/v1/index', role: 'read' },
  { method: 'DELETE', url: '/v1/persons/nobody', role: 'admin' },
  { method: 'PATCH', url: '/v1/persons/nobody', role: 'admin', body: { name: 'Nobody' } },
  { method: 'POST', url: '/v1/persons/nobody/merge', role: 'admin', body: { into: 'someone' } },
  { method: 'POST', url: '/v1/persons/nobody/faces', role: 'admin' },
  { method: 'DELETE', url: '/v1/persons/nobody/faces/f1', role: 'admin' },
  { method: 'POST', url: '/v1/index/rebuild', role: 'admin', body: {} },
  // The web console (issue 23): the page is public, everything it shows needs a key.
  { method: 'GET', url: '/', role: 'public' },
  { method: 'GET', url: '/v1/runs', role: 'read' },
  { method: 'GET', url: '/v1/runs/night-1', role: 'read' },
  { method: 'GET', url: '/v1/runs/night-1/image?key=a.jpg', role: 'read' },
  { method: 'GET', url: `/v1/faces/f${'0'.repeat(32)}/thumbnail`, role: 'read' },
  { method: 'GET', url: '/v1/persons/p1/thumbnail', role: 'read' },
];

let dir: string;
let config: AppConfig;
let redis: Redis;
let store: ApiKeyStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-keys-'));
  config = loadAppConfig(
    { storage: path.join(dir, 'data'), queuePrefix: `fptest-${randomBytes(4).toString('hex')}` },
    { REDIS_URL },
  );
  redis = new Redis(REDIS_URL);
  store = new ApiKeyStore(redis, apiKeysKey(config));
});

afterAll(async () => {
  const keys = await redis.keys(`${config.queuePrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

async function call(
  baseUrl: string,
  route: (typeof ROUTES)[number],
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const init: RequestInit = { method: route.method, headers: { ...headers } };
  if (route.body !== undefined) {
    init.body = JSON.stringify(route.body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(baseUrl + route.url, init);
  // Public ops routes answer text or HTML (metrics, Swagger UI, the dashboard page); errors are JSON.
  const text = await response.text();
  const json = response.headers.get('content-type')?.includes('application/json') ? JSON.parse(text) : {};
  return { status: response.status, body: json as { error?: { code: string; message: string } } };
}

describe('the index service with API keys (real Redis, real HTTP)', () => {
  let service: RunningIndexService;
  let readKey: string;
  let adminKey: string;

  beforeAll(async () => {
    readKey = (await store.create('read')).key;
    adminKey = (await store.create('admin')).key;
    service = await startIndexService(config, {
      port: 0,
      host: '127.0.0.1',
      keyRefreshMs: 100,
      service: { readBlockMs: 100 },
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('every route refuses a missing key (401), a low role (403), and accepts the right one', async () => {
    for (const route of ROUTES) {
      const what = `${route.method} ${route.url}`;
      const none = await call(service.url, route);
      const read = await call(service.url, route, { authorization: `Bearer ${readKey}` });
      const admin = await call(service.url, route, { 'x-api-key': adminKey });
      if (route.role === 'public') {
        expect([200, 302, 503], what).toContain(none.status); // /readyz is 503 until loaded; /docs redirects
        continue;
      }
      expect([none.status, none.body.error?.code], what).toEqual([401, 'UNAUTHORIZED']);
      if (route.role === 'admin') expect([read.status, read.body.error?.code], what).toEqual([403, 'FORBIDDEN']);
      else expect([401, 403], what).not.toContain(read.status);
      expect([401, 403], what).not.toContain(admin.status);
    }
  });

  it('refuses an unknown key, a key in a cookie or in the query, and a malformed Authorization', async () => {
    const route = ROUTES.find((r) => r.url === '/v1/persons')!;
    const wrong = await call(service.url, route, {
      authorization: `Bearer fpk_${randomBytes(32).toString('base64url')}`,
    });
    expect([wrong.status, wrong.body.error?.message]).toEqual([401, 'unknown or revoked API key']);
    expect((await call(service.url, route, { cookie: `api_key=${adminKey}; x-api-key=${adminKey}` })).status).toBe(401);
    expect((await call(service.url, { ...route, url: `/v1/persons?api_key=${adminKey}` })).status).toBe(401);
    expect((await call(service.url, route, { authorization: `Basic ${adminKey}` })).status).toBe(401);
  });

  it('a key created after start works within seconds, a revoked one stops working, no restart', async () => {
    const { key, record } = await store.create('admin');
    const status = async () =>
      (await call(service.url, { method: 'GET', url: '/v1/index', role: 'read' }, { authorization: `Bearer ${key}` }))
        .status;
    const started = Date.now();
    while ((await status()) === 401) {
      expect(Date.now() - started).toBeLessThan(3000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await status()).toBe(200);
    expect(await store.revoke(record.id)).toBe(true);
    const revoked = Date.now();
    while ((await status()) === 200) {
      expect(Date.now() - revoked).toBeLessThan(3000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await status()).toBe(401);
  });

  it('IndexClient sends FACEPIPE_API_KEY (or its apiKey option) and names the variable on a 401', async () => {
    await expect(new IndexClient(service.url, { apiKey: readKey }).persons()).resolves.toMatchObject({ persons: 0 });
    const denied = await new IndexClient(service.url, { apiKey: '' }).persons().catch((err: unknown) => err);
    expect(denied).toBeInstanceOf(IndexServiceError);
    expect((denied as IndexServiceError).message).toMatch(/FACEPIPE_API_KEY/);
    const saved = process.env.FACEPIPE_API_KEY;
    process.env.FACEPIPE_API_KEY = adminKey;
    try {
      await expect(new IndexClient(service.url).status()).resolves.toMatchObject({ faces: 0 });
    } finally {
      if (saved === undefined) delete process.env.FACEPIPE_API_KEY;
      else process.env.FACEPIPE_API_KEY = saved;
    }
  });
});

describe('listening beyond loopback', () => {
  it('refuses a non-loopback address without keys (one line), serves it with insecureNoAuth', async () => {
    const bare = { ...config, queuePrefix: `${config.queuePrefix}-bare` };
    await expect(startIndexService(bare, { port: 0, host: '0.0.0.0' })).rejects.toThrow(
      /^refusing to listen on 0\.0\.0\.0 without API keys: create one with `facepipe keys create --role admin`[^\n]*--insecure-no-auth$/,
    );
    const open = await startIndexService(bare, { port: 0, host: '0.0.0.0', insecureNoAuth: true });
    try {
      const port = new URL(open.url).port;
      expect((await fetch(`http://127.0.0.1:${port}/v1/persons`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('keys from FACEPIPE_API_KEYS count (a bad entry stops the start, naming the variable)', async () => {
    const saved = process.env.FACEPIPE_API_KEYS;
    const envOnly = { ...config, queuePrefix: `${config.queuePrefix}-env` };
    try {
      process.env.FACEPIPE_API_KEYS = 'admin:nothex';
      await expect(startIndexService(envOnly, { port: 0, host: '0.0.0.0' })).rejects.toThrow(
        /FACEPIPE_API_KEYS entry 1/,
      );
      process.env.FACEPIPE_API_KEYS = `read:${hashApiKey('env-read-key')}`;
      const running = await startIndexService(envOnly, { port: 0, host: '0.0.0.0' });
      try {
        const url = `http://127.0.0.1:${new URL(running.url).port}/v1/persons`;
        expect((await fetch(url)).status).toBe(401);
        expect((await fetch(url, { headers: { 'x-api-key': 'env-read-key' } })).status).toBe(200);
      } finally {
        await running.close();
      }
    } finally {
      if (saved === undefined) delete process.env.FACEPIPE_API_KEYS;
      else process.env.FACEPIPE_API_KEYS = saved;
    }
  });

  it('a loopback service without any key is open; once a key exists it needs one', async () => {
    const fresh = { ...config, queuePrefix: `${config.queuePrefix}-fresh` };
    const running = await startIndexService(fresh, { port: 0, host: '127.0.0.1', keyRefreshMs: 100 });
    try {
      expect((await fetch(`${running.url}/v1/persons`)).status).toBe(200);
      await new ApiKeyStore(redis, apiKeysKey(fresh)).create('read');
      const started = Date.now();
      while ((await fetch(`${running.url}/v1/persons`)).status === 200) {
        expect(Date.now() - started).toBeLessThan(3000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await fetch(`${running.url}/v1/persons`)).status).toBe(401);
    } finally {
      await running.close();
    }
  });
});

describe('facepipe keys (CLI process)', () => {
  it('create --json prints the key once, list shows ids and roles (never the key), revoke removes it', {
    timeout: 60_000,
  }, async () => {
    const env = { REDIS_URL, FACEPIPE_STORAGE: config.storage, FACEPIPE_QUEUE_PREFIX: `${config.queuePrefix}-cli` };
    const created = await runCli(['keys', 'create', '--role', 'read', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { key, role, id, sha256 } = lastJson(created);
    expect(role).toBe('read');
    expect(key).toMatch(/^fpk_[A-Za-z0-9_-]{43}$/);
    expect(sha256).toBe(hashApiKey(key));
    const listed = await runCli(['keys', 'list', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain(key);
    expect(listed.stdout).not.toContain(sha256);
    expect(lastJson(listed).keys).toEqual([{ id, role: 'read', created: expect.any(String) }]);
    const revoked = await runCli(['keys', 'revoke', id], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    const again = await runCli(['keys', 'revoke', id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no key/);
    const bad = await runCli(['keys', 'create', '--role', 'root'], env);
    expect(bad.code).toBe(2);
    const down = await runCli(['keys', 'list'], { ...env, REDIS_URL: 'redis://:hunter2@127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toMatch(
      /^facepipe: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
    expect(down.stderr).not.toContain('hunter2');
  });

  it('the commands that call the service send FACEPIPE_API_KEY', { timeout: 60_000 }, async () => {
    const index = new FaceIndex({ dim: 8 });
    index.add(clusteredFaces(prng(4), { dim: 8, persons: 2, perPerson: 1, sigma: 0.05 }).faces);
    const ring = new ApiKeyRing(parseEnvApiKeys(`read:${hashApiKey('cli-read-key')}`));
    const app = buildIndexServer({
      index,
      threshold: FACE_MODEL.threshold,
      auth: { keys: ring, openWhileNoKeys: false },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const ok = await runCli(['persons', 'list', '--json', '--index-url', url], { FACEPIPE_API_KEY: 'cli-read-key' });
      expect(ok.code, ok.stderr).toBe(0);
      expect(lastJson(ok).persons).toBe(2);
      const denied = await runCli(['persons', 'list', '--index-url', url], { FACEPIPE_API_KEY: '' });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toMatch(/an API key is required.*\(set FACEPIPE_API_KEY\)/);
      const low = await runCli(['persons', 'delete', 'p0', '--index-url', url], { FACEPIPE_API_KEY: 'cli-read-key' });
      expect(low.code).toBe(1);
      expect(low.stderr).toMatch(/needs a key with the admin role/);
    } finally {
      await app.close();
    }
  });

  it('serve --host 0.0.0.0 without keys exits 1 with one line', { timeout: 60_000 }, async () => {
    const env = { REDIS_URL, FACEPIPE_STORAGE: config.storage, FACEPIPE_QUEUE_PREFIX: `${config.queuePrefix}-serve` };
    const run = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], env);
    expect(run.code).toBe(1);
    const lines = run.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('facepipe:'));
    expect(lines).toEqual([expect.stringMatching(/^facepipe: refusing to listen on 0\.0\.0\.0 without API keys/)]);
  });
});

describe('key helpers', () => {
  it('takes the key from Authorization: Bearer or x-api-key only', () => {
    expect(keyFromHeaders({ authorization: 'Bearer abc' })).toBe('abc');
    expect(keyFromHeaders({ authorization: 'bearer   abc ' })).toBe('abc');
    expect(keyFromHeaders({ 'x-api-key': 'xyz' })).toBe('xyz');
    expect(keyFromHeaders({ cookie: 'x-api-key=xyz' })).toBeUndefined();
    expect(keyFromHeaders({ authorization: 'Basic abc' })).toBeUndefined();
  });

  it('roles: admin does what read does, not the reverse', () => {
    expect(roleAllows('admin', 'read')).toBe(true);
    expect(roleAllows('read', 'admin')).toBe(false);
    expect(roleAllows('read', 'public')).toBe(true);
  });

  it('FACEPIPE_API_KEYS: <role>:<sha256>, errors name the entry', () => {
    const hash = hashApiKey('k1');
    expect(parseEnvApiKeys(` read:${hash} , admin:${hash.toUpperCase()}`)).toEqual([
      { id: `env-${hash.slice(0, 8)}`, role: 'read', sha256: hash, created: '', source: 'env' },
      { id: `env-${hash.slice(0, 8)}`, role: 'admin', sha256: hash, created: '', source: 'env' },
    ]);
    expect(parseEnvApiKeys('')).toEqual([]);
    expect(() => parseEnvApiKeys(`root:${hash}`)).toThrow(/FACEPIPE_API_KEYS entry 1/);
    expect(() => parseEnvApiKeys('read:abc')).toThrow(/sha256/);
  });

  it('an env key works on a service built with its ring; a route that declares no role needs admin', async () => {
    const index = new FaceIndex({ dim: 8 });
    index.add(clusteredFaces(prng(3), { dim: 8, persons: 2, perPerson: 1, sigma: 0.05 }).faces);
    const ring = new ApiKeyRing(parseEnvApiKeys(`read:${hashApiKey('r-key')},admin:${hashApiKey('a-key')}`));
    const app = buildIndexServer({
      index,
      threshold: FACE_MODEL.threshold,
      auth: { keys: ring, openWhileNoKeys: false },
    });
    app.get('/v1/undeclared', async () => ({ ok: true }));
    const get = (url: string, key?: string) =>
      app.inject({ method: 'GET', url, headers: key ? { 'x-api-key': key } : {} });
    expect((await get('/v1/persons', 'r-key')).statusCode).toBe(200);
    expect((await get('/v1/undeclared', 'r-key')).statusCode).toBe(403);
    expect((await get('/v1/undeclared', 'a-key')).statusCode).toBe(200);
    expect((await get('/v1/undeclared')).statusCode).toBe(401);
    expect((await get('/v1/no-such-route')).statusCode).toBe(404);
    await app.close();
  });

  it('loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.2', 'example.com']) expect(isLoopbackHost(host), host).toBe(false);
  });
});
