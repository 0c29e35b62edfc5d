/**
 * Limits of the image routes: images analysed at once, a bounded line of requests waiting for a
 * slot (503 BUSY + Retry-After beyond), the HTTP
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

/** The service's count of requests waiting for an image slot, from GET /metrics. */
async function waitingImages(app: ReturnType<typeof server>['app']): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(/^facepipe_http_images_waiting (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** Polls until the service counts `n` requests waiting for a slot (fails after ~10 s). */
async function untilWaiting(app: ReturnType<typeof server>['app'], n: number): Promise<void> {
  for (let i = 0; i < 1000 && (await waitingImages(app)) !== n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(await waitingImages(app)).toBe(n);
}

describe('image routes: limits', () => {
  it('analyses at most maxConcurrentImages at once; with no line, one more is 503 BUSY with Retry-After', async () => {
    const { app, calls, holdNext, release } = server({ limits: { maxConcurrentImages: 2, maxQueuedImages: 0 } });
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

  it('requests over the slots wait in a bounded line, first come first served; beyond it 503 BUSY', async () => {
    const { app, calls, holdNext, release } = server({ limits: { maxConcurrentImages: 2, maxQueuedImages: 2 } });
    const body = await png(32, 32);
    const post = (name: string) =>
      app.inject({ method: 'POST', url: `/v1/identify?name=${name}`, headers: { 'content-type': 'image/png' }, body });
    holdNext();
    const analysing = [post('a'), post('b')];
    while (calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const waiting = [post('c'), post('d')];
    await untilWaiting(app, 2);
    // The line is full: the next one is refused at once.
    const extra = await post('e');
    expect(extra.statusCode).toBe(503);
    expect(extra.headers['retry-after']).toBe('1');
    expect(extra.json().error.message).toMatch(/2 images and 2 more wait/);
    expect([...calls].sort()).toEqual(['a', 'b']); // c and d wait, not analysed, not refused
    release();
    for (const answer of await Promise.all([...analysing, ...waiting])) expect(answer.statusCode).toBe(200);
    expect([...calls].sort()).toEqual(['a', 'b', 'c', 'd']);
    await app.close();
  });

  it('a client that leaves while waiting gives its place in line to the next (real HTTP)', async () => {
    const { app, calls, holdNext, release } = server({ limits: { maxConcurrentImages: 1, maxQueuedImages: 1 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const body = await png(32, 32);
    const post = (name: string) =>
      app.inject({ method: 'POST', url: `/v1/identify?name=${name}`, headers: { 'content-type': 'image/png' }, body });
    holdNext();
    const first = post('a');
    while (calls.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    // b waits in line over a real socket, then its client goes away.
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `POST /v1/identify?name=b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body);
    await untilWaiting(app, 1);
    expect((await post('probe')).statusCode).toBe(503); // b holds the only place in line
    socket.destroy();
    await untilWaiting(app, 0);
    // c gets b's place: it waits instead of a 503.
    const third = post('c');
    await untilWaiting(app, 1);
    release();
    expect((await first).statusCode).toBe(200);
    expect((await third).statusCode).toBe(200);
    expect([...calls].sort()).toEqual(['a', 'c']); // b was never analysed
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
      loadHttpLimits(
        { maxPixels: '100' },
        { FACEPIPE_HTTP_MAX_PIXELS: '5', FACEPIPE_HTTP_MAX_IMAGES: '7', FACEPIPE_HTTP_MAX_QUEUED_IMAGES: '0' },
      ),
    ).toMatchObject({ maxPixels: 100, maxConcurrentImages: 7, maxQueuedImages: 0 });
    expect(() => loadHttpLimits({}, { FACEPIPE_HTTP_MAX_QUEUED_IMAGES: '-1' })).toThrow(
      /FACEPIPE_HTTP_MAX_QUEUED_IMAGES "-1"/,
    );
    expect(() => loadHttpLimits({}, { FACEPIPE_HTTP_REQUEST_TIMEOUT_MS: 'soon' })).toThrow(
      /FACEPIPE_HTTP_REQUEST_TIMEOUT_MS "soon"/,
    );
  });
});
