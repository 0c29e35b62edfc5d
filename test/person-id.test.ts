/**
 * One person-id rule (1-128 of [A-Za-z0-9._@-]) for manifests, folders and the HTTP parameters,
 * and URLs with a password masked wherever they are printed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../src/config/app-config.js';
import { ConfigError } from '../src/config/config-source.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { personIdProblem } from '../src/gallery/person-id.js';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { listEnrollItems } from '../src/producers/enroll-items.js';
import { parseManifest } from '../src/producers/manifest.js';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { redactUrl } from '../src/util/redact-url.js';
import { clusteredFaces, prng } from './support/synthetic-embeddings.js';

const LONG_OK = 'a'.repeat(128);
const TOO_LONG = 'a'.repeat(129);

describe('person ids', () => {
  it('the rule', () => {
    for (const id of ['emp-042', 'Ann.Lee_2', 'ann@example.com', LONG_OK])
      expect(personIdProblem(id), id).toBeUndefined();
    expect(personIdProblem('')).toMatch(/empty/);
    expect(personIdProblem(TOO_LONG)).toMatch(/at most 128/);
    for (const id of ['a b', 'a/b', 'é', 'a:b', '..', '.']) expect(personIdProblem(id), id).toBeDefined();
  });

  it('a manifest line with a bad id fails that line (named), the other lines go on', async () => {
    const entries = parseManifest(`key,personId\na.jpg,p1\nb.jpg,${TOO_LONG}\nc.jpg,bad id\nd.jpg,\n`, 'csv');
    expect(entries.map((e) => [e.line, e.personIdProblem === undefined])).toEqual([
      [2, true],
      [3, false],
      [4, false],
      [5, false],
    ]);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-ids-'));
    try {
      const source = new FolderStorage(dir);
      for (const key of ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'p2/x.jpg', 'bad folder/y.jpg'])
        await source.put(key, new Uint8Array([1, 2, 3]));
      const listing = await listEnrollItems(source, { manifest: entries });
      expect(listing.items.map((i) => i.key)).toEqual(['a.jpg']);
      expect(listing.invalid.map((i) => i.reason)).toEqual([
        expect.stringMatching(/^manifest line 3: person id "a{129}": a person id has at most 128 characters/),
        expect.stringMatching(/^manifest line 4: person id "bad id": .*letters, digits/),
        expect.stringMatching(/^manifest line 5: person id "": a person id must not be empty/),
      ]);
      const folders = await listEnrollItems(source);
      expect(folders.items.map((i) => i.key)).toEqual(['p2/x.jpg']);
      expect(folders.invalid).toEqual([
        { key: 'bad folder/y.jpg', reason: expect.stringMatching(/^bad folder\/y\.jpg: folder "bad folder": /) },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the HTTP parameters use the same rule: a 128-character id is served, 129 is a 400', async () => {
    const index = new FaceIndex({ dim: 8 });
    const faces = clusteredFaces(prng(1), { dim: 8, persons: 1, perPerson: 1, sigma: 0.05 }).faces;
    index.add(faces.map((f) => ({ ...f, personId: LONG_OK })));
    const app = buildIndexServer({ index, threshold: FACE_MODEL.threshold });
    const show = await app.inject({ method: 'GET', url: `/v1/persons/${LONG_OK}` });
    expect([show.statusCode, show.json().personId]).toEqual([200, LONG_OK]);
    const long = await app.inject({ method: 'GET', url: `/v1/persons/${TOO_LONG}` });
    expect([long.statusCode, long.json().error.code]).toEqual([400, 'BAD_REQUEST']);
    const spaced = await app.inject({ method: 'DELETE', url: '/v1/persons/a%20b' });
    expect(spaced.statusCode).toBe(400);
    expect((await app.inject({ method: 'DELETE', url: `/v1/persons/${LONG_OK}` })).statusCode).toBe(200);
    await app.close();
  });
});

describe('secrets in messages', () => {
  it('masks the password of a URL', () => {
    expect(redactUrl('redis://:s3cret@redis:6379/0')).toBe('redis://:***@redis:6379/0');
    expect(redactUrl('redis://user:s3cret@redis:6379')).toBe('redis://user:***@redis:6379');
    expect(redactUrl('redis://s3cret@redis:6379')).toBe('redis://***@redis:6379');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('redis://u:pa ss@[bad')).toBe('redis://***@[bad');
  });

  it('a malformed REDIS_URL is named without its password', () => {
    let err: unknown;
    try {
      loadAppConfig({}, { REDIS_URL: 'http://:hunter2@redis:6379' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/REDIS_URL/);
    expect((err as Error).message).not.toContain('hunter2');
  });
});
