/**
 * The image routes take the image as the raw body or as a multipart upload (`curl -F image=@x.jpg`),
 * and a 415 names what they accept. The analyzer here decodes the uploaded bytes with sharp and
 * embeds the image's mean colour: the same bytes give the same answer, other bytes another.
 */
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImageAnalysis } from '../src/engine/engine-types.js';
import type { ImageInput } from '../src/engine/types.js';
import { FaceError } from '../src/errors/face-error.js';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer } from '../src/index/index-http-server.js';

const DIM = 3;
const threshold = 0.1;

/** One "face" spanning the image, embedded as its mean colour (unit length). */
async function analyze(input: ImageInput): Promise<ImageAnalysis> {
  if (typeof input === 'string') throw new Error('bytes expected');
  const image = sharp(input.bytes);
  const stats = await image.stats().catch(() => {
    throw new FaceError('NOT_AN_IMAGE', `${input.name}: not an image`);
  });
  const { width = 0, height = 0 } = await image.metadata();
  const mean = stats.channels.slice(0, 3).map((c) => c.mean + 1);
  const norm = Math.hypot(...mean);
  return {
    width,
    height,
    facesDetected: 1,
    faces: [
      {
        box: { x: 0, y: 0, width, height },
        score: 0.99,
        landmarks: [
          [1, 1],
          [2, 1],
          [1.5, 1.5],
          [1, 2],
          [2, 2],
        ],
        quality: { size: Math.min(width, height), blur: 0, pose: 0 },
        embedding: Float32Array.from(mean.map((v) => v / norm)),
      },
    ],
  };
}

const png = (r: number, g: number, b: number) =>
  sharp({ create: { width: 16, height: 16, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();

/** A multipart/form-data body written out by hand: text fields, then files, in the given order. */
function multipart(parts: Array<{ name: string; value: string | Buffer; filename?: string; type?: string }>) {
  const boundary = `----facepipe-test-${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ''}`;
    const headers = `Content-Disposition: ${disposition}\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\n${headers}\r\n`), Buffer.from(part.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

const apps: FastifyInstance[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

async function server(maxImageBytes?: number) {
  const index = new FaceIndex({ dim: DIM });
  const red = await analyze({ bytes: await png(200, 20, 20), name: 'red.png' });
  index.add([{ faceId: 'red-f0', personId: 'red', embedding: red.faces[0].embedding }]);
  const app = buildIndexServer({ index, threshold, analyze, maxImageBytes });
  apps.push(app);
  return app;
}

describe('image routes: raw bytes or multipart', () => {
  it('identify: a multipart upload answers as the same image sent raw; another image differs', async () => {
    const app = await server();
    const red = await png(200, 20, 20);
    const raw = await app.inject({
      method: 'POST',
      url: '/v1/identify',
      headers: { 'content-type': 'image/png' },
      payload: red,
    });
    expect(raw.statusCode).toBe(200);
    expect(raw.json().faces[0].personId).toBe('red');

    // curl -F note=hello -F image=@red.png: a text field first, then the file.
    const form = multipart([
      { name: 'note', value: 'hello' },
      { name: 'image', value: red, filename: 'red.png', type: 'image/png' },
    ]);
    const up = await app.inject({
      method: 'POST',
      url: '/v1/identify?k=1',
      headers: { 'content-type': form.contentType },
      payload: form.payload,
    });
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json()).toEqual(raw.json());

    const blue = multipart([{ name: 'photo', value: await png(20, 20, 200), filename: 'b.png' }]);
    const other = await app.inject({
      method: 'POST',
      url: '/v1/identify',
      headers: { 'content-type': blue.contentType },
      payload: blue.payload,
    });
    expect(other.statusCode).toBe(200);
    expect(other.json().faces[0].personId).toBeNull();
  });

  it('verify: the first file part is the image, whatever its field name', async () => {
    const app = await server();
    const form = multipart([
      { name: 'probe', value: await png(200, 20, 20), filename: 'a.png', type: 'image/png' },
      { name: 'second', value: await png(20, 200, 20), filename: 'b.png', type: 'image/png' },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/verify?personId=red',
      headers: { 'content-type': form.contentType },
      payload: form.payload,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ personId: 'red', match: true, faceIndex: 0 });
  });

  it("a form without a file part, or one that cannot be read, is a 400; a bad file a 400 with the engine's code", async () => {
    const app = await server();
    const fieldsOnly = multipart([{ name: 'image', value: 'not a file' }]);
    const none = await app.inject({
      method: 'POST',
      url: '/v1/identify',
      headers: { 'content-type': fieldsOnly.contentType },
      payload: fieldsOnly.payload,
    });
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('multipart') },
    });

    const junk = multipart([{ name: 'image', value: Buffer.from('hello'), filename: 'x.jpg' }]);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/identify',
      headers: { 'content-type': junk.contentType },
      payload: junk.payload,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'NOT_AN_IMAGE' } });

    // No boundary, or a body cut short: the upload cannot be read.
    for (const [type, payload] of [
      ['multipart/form-data', 'garbage'],
      [
        'multipart/form-data; boundary=abc',
        '--abc\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nxx',
      ],
    ]) {
      const cut = await app.inject({ method: 'POST', url: '/v1/identify', headers: { 'content-type': type }, payload });
      expect(cut.statusCode, type).toBe(400);
      expect(cut.json()).toMatchObject({
        error: { code: 'BAD_REQUEST', message: expect.stringContaining('unreadable multipart/form-data') },
      });
    }
  });

  it('a file over the image limit is a 413, as a raw body over it is', async () => {
    const app = await server(1000);
    const big = multipart([{ name: 'image', value: Buffer.alloc(5000, 1), filename: 'big.jpg' }]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/identify',
      headers: { 'content-type': big.contentType },
      payload: big.payload,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('415 names the accepted types, for an unknown content type and for JSON', async () => {
    const app = await server();
    for (const [type, payload] of [
      ['text/plain', 'hello'],
      ['application/json', '{"image":"x"}'],
    ]) {
      for (const url of ['/v1/identify', '/v1/verify?personId=red']) {
        const res = await app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload });
        expect(res.statusCode, `${type} ${url}`).toBe(415);
        const { error } = res.json();
        expect(error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
        for (const accepted of ['image/*', 'application/octet-stream', 'multipart/form-data'])
          expect(error.message).toContain(accepted);
      }
    }
  });
});
