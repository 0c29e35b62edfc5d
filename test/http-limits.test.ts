/**
 * Limits of the image routes: images analysed at once (503 BUSY + Retry-After beyond), the HTTP
 * pixel cap (checked from the header, before the engine), and the request timeout that drops a
 * trickled body (real HTTP over a raw socket). The engine is a test double that records its calls
 * and can be held: the point is what the HTTP layer lets reach it.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { HTTP_LIMIT_DEFAULTS, loadHttpLimits } from '../src/config/http-limits-config.js';
import type { ImageAnalysis } from '../src/engine/engine-types.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import type { ImageInput } from '../src/engine/types.js';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer, type IndexServerOptions } from '../src/index/index-http-server.js';

const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .png()
    .toBuffer();

function server(options: Partial<IndexServerOptions> = {}) {
  const calls: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let hold = false;
  const app = buildIndexServer({
    index: new FaceIndex({ dim: 8 }),
    threshold: FACE_MODEL.threshold,
    analyze: async (input: ImageInput): Promise<ImageAnalysis> => {
      calls.push(typeof input === 'string' ? input : input.name);
      if (hold) await gate;
      const { width = 0, height = 0 } = typeof input === 'string' ? {} : await sharp(input.bytes).metadata();
      return { width, height, faces: [] } as unknown as ImageAnalysis;
    },
    ...options,
  });
  return { app, calls, holdNext: () => (hold = true), release: () => release() };
}

describe('image routes: limits', () => {
  it('analyses at most maxConcurrentImages at once; one more is 503 BUSY with Retry-After', async () => {
    const { app, calls, holdNext, release } = server({ limits: { maxConcurrentImages: 2 } });
    const body = await png(32, 32);
    const post = (name: string) =>
      app.inject({ method: 'POST', url: `/v1/identify?name=${name}`, headers: { 'content-type': 'image/png' }, body });
    holdNext();
    const first = post('a');
    const second = post('b');
    while (calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const third = await post('c');
    expect(third.statusCode).toBe(503);
    expect(third.headers['retry-after']).toBe('1');
    expect(third.json().error.code).toBe('BUSY');
    const verify = await app.inject({
      method: 'POST',
      url: '/v1/verify?personId=p1',
      headers: { 'content-type': 'image/png' },
      body,
    });
    expect(verify.statusCode).toBe(404); // the person check comes before the image: no slot taken
    release();
    expect((await first).statusCode).toBe(200);
    expect((await second).statusCode).toBe(200);
    // Both held requests ran (in either order: the header check before the engine is async), 'c' never did.
    expect([...calls].sort()).toEqual(['a', 'b']);
    expect((await post('d')).statusCode).toBe(200); // slots are given back
    await app.close();
  });

  it('refuses an upload over the HTTP pixel cap from its header, before the engine runs', async () => {
    const { app, calls } = server();
    // A 7000x7000 grey PNG: a few hundred KB here (6 KB in the issue), 49 M pixels to decode.
    const started = performance.now();
    const bomb = await png(7000, 7000);
    const made = performance.now() - started;
    const t0 = performance.now();
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/identify',
      headers: { 'content-type': 'image/png' },
      body: bomb,
    });
    const ms = performance.now() - t0;
    expect(answer.statusCode).toBe(400);
    expect(answer.json().error.code).toBe('TOO_MANY_PIXELS');
    expect(answer.json().error.message).toMatch(/7000x7000 = 49000000, limit 16000000/);
    expect(calls).toEqual([]);
    expect(ms, `refused in ${ms.toFixed(0)} ms (made in ${made.toFixed(0)} ms)`).toBeLessThan(1000);
    // Under the cap it goes through; the cap is a setting.
    const small = server({ limits: { maxPixels: 1000 } });
    const refused = await small.app.inject({
      method: 'POST',
      url: '/v1/identify',
      headers: { 'content-type': 'image/png' },
      body: await png(40, 30),
    });
    expect(refused.json().error.message).toMatch(/40x30 = 1200, limit 1000/);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/identify',
          headers: { 'content-type': 'image/png' },
          body: await png(40, 30),
        })
      ).statusCode,
    ).toBe(200);
    await app.close();
    await small.app.close();
  });

  it('drops a body trickled byte by byte once the request timeout passes (real HTTP)', {
    timeout: 20_000,
  }, async () => {
    const { app, calls } = server({ limits: { requestTimeoutMs: 1000 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /v1/identify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n',
    );
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    const started = Date.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
    socket.on('error', () => {});
    let sent = 0;
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(Buffer.from([sent++ & 0xff]));
    }, 200);
    const ms = await closed;
    clearInterval(trickle);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(3000);
    expect(sent).toBeLessThan(20);
    expect(calls).toEqual([]);
    await app.close();
  });

  it('settings: flags, else FACEPIPE_HTTP_* variables, else defaults; bad values are named', () => {
    expect(loadHttpLimits({}, {})).toEqual(HTTP_LIMIT_DEFAULTS);
    expect(HTTP_LIMIT_DEFAULTS.maxPixels).toBeLessThan(50_000_000); // lower than the batch jobs' default cap
    expect(
      loadHttpLimits({ maxPixels: '100' }, { FACEPIPE_HTTP_MAX_PIXELS: '5', FACEPIPE_HTTP_MAX_IMAGES: '7' }),
    ).toMatchObject({ maxPixels: 100, maxConcurrentImages: 7 });
    expect(() => loadHttpLimits({}, { FACEPIPE_HTTP_REQUEST_TIMEOUT_MS: 'soon' })).toThrow(
      /FACEPIPE_HTTP_REQUEST_TIMEOUT_MS "soon"/,
    );
  });
});
