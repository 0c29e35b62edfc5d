/**
 * Searches take turns with the service's other I/O (src/index/search-turns.ts): with many search
 * requests in at once, /healthz is answered between two searches, not after all of them. Real HTTP
 * over raw sockets: every request is written to the kernel before the server handles any, as
 * when 50 clients send at once. The index's search is slowed (50 ms of busy CPU) so that the
 * order of the answers tells where /healthz waited.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FaceIndex } from '../src/index/face-index.js';
import { buildIndexServer } from '../src/index/index-http-server.js';
import { SearchTurns } from '../src/index/search-turns.js';

const DIM = 8;

function slowIndex(ms: number): FaceIndex {
  const index = new FaceIndex({ dim: DIM });
  index.add([{ faceId: 'f1', personId: 'p1', embedding: Array.from({ length: DIM }, (_, i) => (i === 0 ? 1 : 0)) }]);
  const search = index.searchPersons.bind(index);
  index.searchPersons = (queries, k) => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // busy: a search at 1152-D holds the thread like this
    }
    return search(queries, k);
  };
  return index;
}

function request(method: string, path: string, body = ''): string {
  return (
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

describe('search turns', () => {
  it('runs searches one per event-loop turn, in order, errors included', async () => {
    const turns = new SearchTurns();
    const seen: string[] = [];
    const tick = () =>
      new Promise<void>((resolve) =>
        setImmediate(() => {
          seen.push('io');
          resolve();
        }),
      );
    const step = <T>(name: string, value: T) => {
      seen.push(name);
      return value;
    };
    const a = turns.run(() => step('a', 1));
    const b = turns.run(() => {
      seen.push('b');
      throw new Error('bad query');
    });
    const c = turns.run(() => step('c', 3));
    expect(turns.pending).toBe(3);
    expect(seen).toEqual([]); // nothing runs in the caller's turn
    await Promise.all([tick(), a]);
    await expect(b).rejects.toThrow('bad query');
    expect(await c).toBe(3);
    expect(seen.filter((s) => s !== 'io')).toEqual(['a', 'b', 'c']);
    expect(turns.pending).toBe(0);
  });

  it("runs each item of a call in its own turn, a call's items in consecutive turns", async () => {
    const turns = new SearchTurns();
    const seen: string[] = [];
    const a = turns.each(['a1', 'a2'], (item, i) => {
      seen.push(item);
      // Queued during a1's turn: runs before a2, which needs a turn of its own.
      if (i === 0) setImmediate(() => seen.push('io'));
      return `${item}!`;
    });
    const b = turns.each(['b1', 'b2'], (item) => {
      seen.push(item);
      if (item === 'b1') throw new Error('bad b1');
      return item;
    });
    expect(await a).toEqual(['a1!', 'a2!']);
    await expect(b).rejects.toThrow('bad b1');
    expect(seen).toEqual(['a1', 'io', 'a2', 'b1']); // b2 skipped after b1's error
    expect(await turns.each([], () => 1)).toEqual([]);
  });

  it('answers /healthz between searches while 10 search requests are queued (real HTTP)', {
    timeout: 30_000,
  }, async () => {
    const app = buildIndexServer({ index: slowIndex(50), threshold: 0.6 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const sockets = await Promise.all(
      Array.from({ length: 11 }, async () => {
        const socket = net.connect(port, '127.0.0.1');
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
        return socket;
      }),
    );
    // One request each first: the server accepts about one connection per event-loop turn, and a
    // client's connection is accepted long before its burst (keep-alive, as autocannon's are).
    await Promise.all(
      sockets.map((socket) => {
        const answered = new Promise((resolve) => socket.once('data', resolve));
        socket.write(request('GET', '/healthz'));
        return answered;
      }),
    );
    const order: string[] = [];
    const answered = sockets.map(
      (socket, i) =>
        new Promise<void>((resolve) =>
          socket.once('data', (chunk) => {
            expect(chunk.toString()).toMatch(/^HTTP\/1\.1 200/);
            order.push(i < 10 ? `search${i}` : 'healthz');
            resolve();
          }),
        ),
    );
    const body = JSON.stringify({ vectors: [Array.from({ length: DIM }, () => 0.1)], persons: true });
    // Written synchronously, in this order: all in the kernel's buffers before the server reads any.
    for (let i = 0; i < 10; i++) sockets[i].write(request('POST', '/v1/search', body));
    sockets[10].write(request('GET', '/healthz'));
    await Promise.all(answered);
    for (const socket of sockets) socket.destroy();
    await app.close();
    // Without turns /healthz waited for all 10 searches (500 ms of CPU); with them, for one or two.
    const searchesBefore = order.indexOf('healthz');
    expect(searchesBefore, order.join(' ')).toBeLessThanOrEqual(2);
  });
});
