/**
 * The index-service commands of the CLI end to end: `facepipe persons list|show|delete` and
 * `facepipe search`, each run as a real CLI process (like test/cli.test.ts) against an index
 * service listening in this test process. The search test wires the real engine into the service.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer, type IndexServerOptions } from '../src/index/index-http-server.js';
import { clusteredFaces, prng } from './support/synthetic-embeddings.js';
import { lastJson, ROOT, runCli } from './support/cli-process.js';

const sample = (n: number) => path.join(ROOT, 'node_modules/@vladmandic/face-api/demo', `sample${n}.jpg`);
const TIMEOUT = 120_000;

const facepipe = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { FACEPIPE_INDEX_URL: '', ...env });

const apps: FastifyInstance[] = [];
afterAll(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function listen(options: IndexServerOptions): Promise<string> {
  const app = buildIndexServer(options);
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** A service over 4 synthetic persons (p0..p3) x 3 faces. */
function syntheticService(): Promise<string> {
  const index = new FaceIndex({ dim: 8 });
  index.add(clusteredFaces(prng(5), { dim: 8, persons: 4, perPerson: 3, sigma: 0.07 }).faces);
  return listen({ index, threshold: FACE_MODEL.threshold });
}

describe('facepipe persons', () => {
  let url: string;
  beforeAll(async () => {
    url = await syntheticService();
  });

  it('list --json: one object {persons, faces, items} as the last line; --limit and --offset page it', {
    timeout: TIMEOUT,
  }, async () => {
    const all = await facepipe(['persons', 'list', '--json', '--index-url', url]);
    expect(all.code).toBe(0);
    const out = lastJson(all);
    expect(Object.keys(out).sort()).toEqual(['faces', 'items', 'persons']);
    expect(out).toEqual({
      persons: 4,
      faces: 12,
      items: ['p0', 'p1', 'p2', 'p3'].map((personId) => ({ personId, faces: 3 })),
    });

    // FACEPIPE_INDEX_URL names the service too.
    const page = await facepipe(['persons', 'list', '--limit', '2', '--offset', '1', '--json'], {
      FACEPIPE_INDEX_URL: url,
    });
    expect(page.code).toBe(0);
    expect(lastJson(page)).toEqual({
      persons: 4,
      faces: 12,
      items: [
        { personId: 'p1', faces: 3 },
        { personId: 'p2', faces: 3 },
      ],
    });
  });

  it('list: a line per person for people', { timeout: TIMEOUT }, async () => {
    const run = await facepipe(['persons', 'list', '--index-url', url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('4 person(s), 12 face(s)');
    expect(run.stdout).toMatch(/^p3\t3 face\(s\)$/m);
  });

  it('show: the faces of one person', { timeout: TIMEOUT }, async () => {
    const json = await facepipe(['persons', 'show', 'p1', '--json', '--index-url', url]);
    expect(json.code).toBe(0);
    expect(lastJson(json)).toEqual({ personId: 'p1', faces: ['p1-f0', 'p1-f1', 'p1-f2'] });
    const human = await facepipe(['persons', 'show', 'p1', '--index-url', url]);
    expect(human.stdout).toMatch(/p1\t3 face\(s\)\n {2}p1-f0\n/);
  });

  it('delete, then show: exit 1 with a clear message for the unknown person', { timeout: TIMEOUT }, async () => {
    const own = await syntheticService();
    const del = await facepipe(['persons', 'delete', 'p2', '--json', '--index-url', own]);
    expect(del.code).toBe(0);
    expect(lastJson(del)).toEqual({ personId: 'p2', removed: 3 });
    const show = await facepipe(['persons', 'show', 'p2', '--index-url', own]);
    expect(show.code).toBe(1);
    expect(show.stdout).toBe('');
    expect(show.stderr).toContain('no person "p2" in the index');
    const again = await facepipe(['persons', 'delete', 'p2', '--json', '--index-url', own]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no person "p2" in the index');
    expect(lastJson(await facepipe(['persons', 'list', '--json', '--index-url', own]))).toMatchObject({
      persons: 3,
      faces: 9,
    });
  });

  it('no service: exit 1, naming the URL and how to start one', { timeout: TIMEOUT }, async () => {
    const closed = await syntheticService();
    await apps.pop()!.close();
    const run = await facepipe(['persons', 'list', '--json'], { FACEPIPE_INDEX_URL: closed });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`no index service answers at ${closed}`);
    expect(run.stderr).toContain('FACEPIPE_INDEX_URL');
  });

  it.each([
    [['persons', 'list', '--limit', '0'], /--limit/],
    [['persons', 'list', '--offset', '-1'], /--offset/],
    [['persons', 'show'], /missing required argument/],
    [['persons', 'list', '--index-url', 'ftp://127.0.0.1'], /--index-url/],
    [['search'], /missing required argument/],
    [['search', sample(1), '-k', '0'], /-k/],
  ])('usage error (exit 2) for %j', { timeout: TIMEOUT }, async (args, message) => {
    const run = await facepipe(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

describe('facepipe search (the service runs the real engine)', () => {
  let engine: FaceEngine;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    engine = await FaceEngine.start({ threads: 1 });
    // sample1.jpg's three people, in detection order, enrolled from that photo.
    const { faces } = await engine.analyze(sample(1));
    expect(faces).toHaveLength(3);
    const index = new FaceIndex({ dim: FACE_MODEL.embeddingSize });
    index.add(
      ['alice', 'bob', 'carol'].map((personId, i) => ({
        faceId: `${personId}-f0`,
        personId,
        embedding: faces[i].embedding,
      })),
    );
    url = await listen({ index, threshold: FACE_MODEL.threshold, analyze: (input) => engine.analyze(input) });
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-cli-index-'));
    await writeFile(path.join(dir, 'notes.jpg'), 'this is not an image\n');
  });
  afterAll(async () => {
    await engine?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--json: every face with its top-k persons and the decision', { timeout: TIMEOUT }, async () => {
    const run = await facepipe(['search', sample(1), '-k', '2', '--json', '--index-url', url]);
    expect(run.code).toBe(0);
    const out = lastJson(run);
    expect(Object.keys(out).sort()).toEqual(['error', 'faces', 'height', 'image', 'k', 'threshold', 'width']);
    expect(out).toMatchObject({
      image: sample(1),
      width: 1920,
      height: 1280,
      threshold: FACE_MODEL.threshold,
      k: 2,
      error: null,
    });
    expect(out.faces.map((f: { personId: string }) => f.personId)).toEqual(['alice', 'bob', 'carol']);
    for (const face of out.faces) {
      expect(face.matches).toHaveLength(2);
      expect(face.matches[0].personId).toBe(face.personId);
      expect(face.matches[0].distance).toBeLessThan(1e-3);
      expect(face.matches[1].distance).toBeGreaterThan(face.matches[0].distance);
    }
  });

  it('prints each face, its persons with distances, and the decision', { timeout: TIMEOUT }, async () => {
    const run = await facepipe(['search', sample(1), '--index-url', url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/face 1\/3\tbox x=\d+ y=\d+ w=\d+ h=\d+\tscore [\d.]+\t-> alice/);
    expect(run.stdout).toMatch(/^ {2}1\. bob\tdistance 0\.000\t\(face bob-f0\)$/m);
    expect(run.stdout).toMatch(/^ {2}3\. /m); // three persons listed (k 5, three enrolled)
  });

  it('a file that is not an image: its error code, exit 1; a missing file: exit 1', { timeout: TIMEOUT }, async () => {
    const notes = path.join(dir, 'notes.jpg');
    const run = await facepipe(['search', notes, '--json', '--index-url', url]);
    expect(run.code).toBe(1);
    expect(lastJson(run)).toMatchObject({
      image: notes,
      faces: [],
      error: { code: 'NOT_AN_IMAGE', message: expect.stringContaining(notes) },
    });
    const human = await facepipe(['search', notes, '--index-url', url]);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('NOT_AN_IMAGE');

    const missing = await facepipe(['search', path.join(dir, 'nope.jpg'), '--index-url', url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.jpg: no such file');
  });
});
