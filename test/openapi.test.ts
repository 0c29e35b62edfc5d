import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppConfig, loadAppConfig } from '../src/config/app-config.js';
import { GalleryStore } from '../src/gallery/gallery-store.js';
import { FaceIndex } from '../src/index/face-index.js';
import { registerIndexAdminRoutes } from '../src/index/index-admin-routes.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { IndexService } from '../src/index/index-service.js';
import { IndexSnapshotStore } from '../src/index/index-snapshot-store.js';
import { registerMatchRoutes } from '../src/index/match-routes.js';
import { registerDeploymentOps } from '../src/index/ops/deployment-ops.js';
import { MatchStore } from '../src/matches/match-store.js';
import { ChangeLog } from '../src/queue/change-log.js';
import { QUEUE_NAMES, queueConnectionOptions } from '../src/queue/queue-names.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { Registry } from 'prom-client';

/** Every route the index service has, as index-service-runtime assembles it, with app.inject. */
let dir: string;
let app: FastifyInstance;
let redis: Redis;
let closeOps: () => Promise<void>;
let config: AppConfig;
const roles = new Map<string, unknown>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'facepipe-openapi-'));
  config = loadAppConfig({ storage: dir, queuePrefix: `fptest-${randomBytes(4).toString('hex')}-openapi` });
  const storage = new FolderStorage(dir);
  redis = new Redis(config.redisUrl);
  const log = new ChangeLog(redis, `${config.queuePrefix}:changes`);
  const service = new IndexService(new GalleryStore(storage, 'm'), new IndexSnapshotStore(storage, 'm'), log, {
    dim: 4,
  });
  const registry = new Registry();
  app = buildIndexServer({ index: new FaceIndex({ dim: 4 }), threshold: 0.6, metrics: registry });
  // The role every request's route declares (issue 20: a route without one counts as admin).
  app.addHook('onRequest', async (request) => {
    roles.set(request.url.split('?')[0], request.routeOptions.config.role ?? 'none');
  });
  closeOps = registerDeploymentOps(app, { config, registry, service, changeLog: log });
  registerIndexAdminRoutes(app, service);
  registerMatchRoutes(app, new MatchStore(redis, `${config.queuePrefix}:matches`));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await closeOps?.();
  // The dashboard's queues wrote their meta keys.
  for (const name of Object.values(QUEUE_NAMES)) {
    const queue = new Queue(name, queueConnectionOptions(config));
    await queue.obliterate({ force: true });
    await queue.close();
  }
  redis?.disconnect();
  await rm(dir, { recursive: true, force: true });
});

/** `METHOD /path` of every route, from fastify's own route tree (printRoutes). */
function appRoutes(): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const at = line.indexOf('── ');
    if (at < 0) continue;
    const depth = Math.floor(at / 4);
    const m = /^(\S+)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(at + 3).trim());
    if (!m) throw new Error(`unexpected printRoutes line ${JSON.stringify(line)}`);
    stack.length = depth;
    stack.push(m[1]);
    for (const method of m[2]?.split(', ') ?? []) routes.push(`${method} ${stack.join('')}`);
  }
  return routes;
}

type Operation = {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: object }>;
  requestBody?: { content: Record<string, { schema?: object }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: object }> }>;
};
type OpenApiDoc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
};

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3 document of every route of the API, generated from their zod schemas', async () => {
    const res = await app.inject('/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json() as OpenApiDoc;
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toBeTypeOf('string');
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);

    // Every route but the UI pages and their assets (dashboard, Swagger UI) and the two ops
    // documents themselves; HEAD is GET's twin.
    const ui = /^(GET|HEAD|[A-Z]+) \/(docs|queues)(\/|$)|^[A-Z]+ \/(metrics|openapi\.json)$/;
    const expected = appRoutes()
      .filter((r) => !r.startsWith('HEAD ') && !ui.test(r))
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([p, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
      )
      .sort();
    expect(expected).toContain('POST /v1/index/rebuild');
    expect(expected).toContain('GET /v1/persons/:id/matches');
    expect(documented).toEqual(expected);

    // Structure: answers with descriptions, parameters placed and typed, every schema valid JSON Schema.
    const ajv = new Ajv({ strict: false });
    const compile = (schema: object | undefined, where: string) => {
      expect(schema, where).toBeTypeOf('object');
      expect(() => ajv.compile(schema as object), where).not.toThrow();
    };
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method} ${p}`;
        expect(Object.keys(op.responses).length, where).toBeGreaterThan(0);
        for (const [status, answer] of Object.entries(op.responses)) {
          expect(status, where).toMatch(/^([1-5](\d\d|XX)|default)$/);
          expect(answer.description, where).toBeTypeOf('string');
          for (const media of Object.values(answer.content ?? {})) compile(media.schema, `${where} ${status}`);
        }
        for (const param of op.parameters ?? []) {
          expect(['query', 'path', 'header', 'cookie'], where).toContain(param.in);
          if (param.in === 'path') expect(param.required, where).toBe(true);
          compile(param.schema, `${where} ${param.name}`);
        }
        for (const name of [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
          expect(
            op.parameters?.some((q) => q.in === 'path' && q.name === name),
            `${where} {${name}}`,
          ).toBe(true);
        }
        for (const media of Object.values(op.requestBody?.content ?? {})) compile(media.schema, `${where} body`);
      }
    }
    // What the zod schemas say reaches the document: search's body and identify's query.
    const search = doc.paths['/v1/search'].post;
    expect(JSON.stringify(search.requestBody)).toContain('"vectors"');
    expect(doc.paths['/v1/identify'].post.parameters?.map((q) => q.name)).toContain('k');
  });
});

describe('the routes of the window on the system', () => {
  it('declare their roles: metrics and docs public, the dashboard admin', async () => {
    const docs = await app.inject('/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
    const page = await app.inject('/queues');
    expect(page.statusCode).toBe(200);
    // Its assets are relative to <base href="/queues/">.
    const asset = `/queues/${/src="(static\/js\/main\.[^"]+\.js)"/.exec(page.body)?.[1]}`;
    expect(asset).toMatch(/main\.\w+\.js$/);
    expect((await app.inject(asset)).statusCode).toBe(200);
    expect((await app.inject('/queues/api/queues')).statusCode).toBe(200);
    expect((await app.inject('/metrics')).statusCode).toBe(200);
    expect((await app.inject('/openapi.json')).statusCode).toBe(200);

    expect(roles.get('/metrics')).toBe('public');
    expect(roles.get('/openapi.json')).toBe('public');
    expect(roles.get('/docs/')).toBe('public');
    expect(roles.get('/queues')).toBe('admin');
    expect(roles.get(asset)).toBe('admin');
    expect(roles.get('/queues/api/queues')).toBe('admin');
  });
});
