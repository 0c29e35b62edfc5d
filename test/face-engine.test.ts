/**
 * The face engine end to end, with the real models, on photos that ship inside @vladmandic/face-api
 * (group photos of several people) and on images this test makes from them.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceError } from '../src/errors/face-error.js';
import { faceDistance } from '../src/engine/face-distance.js';
import { FaceEngine } from '../src/engine/face-engine.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import type { ImageAnalysis } from '../src/engine/engine-types.js';

const require = createRequire(import.meta.url);
const DEMO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const sample = (n: number) => path.join(DEMO, `sample${n}.jpg`);
const bytes = (data: Buffer, name: string) => ({ bytes: new Uint8Array(data), name });

let engine: FaceEngine;
beforeAll(async () => {
  engine = await FaceEngine.start({ threads: 2, maxWaitMs: 50 });
});
afterAll(async () => {
  await engine?.close();
});

/** Every person in sample1.jpg cut out as a portrait: a face and a generous margin around it. */
async function portraits(): Promise<Buffer[]> {
  const { faces, width, height } = await engine.detect(sample(1));
  return Promise.all(
    faces.map(({ box }) => {
      const side = Math.round(Math.max(box.width, box.height) * 2.2);
      const left = Math.max(0, Math.round(box.x + box.width / 2 - side / 2));
      const top = Math.max(0, Math.round(box.y + box.height / 2 - side / 2));
      return sharp(sample(1))
        .extract({ left, top, width: Math.min(side, width - left), height: Math.min(side, height - top) })
        .jpeg({ quality: 95 })
        .toBuffer();
    }),
  );
}

const only = (analysis: ImageAnalysis) => {
  expect(analysis.faces).toHaveLength(1);
  return analysis.faces[0].embedding;
};

describe('face engine', () => {
  it('names the backend it runs', () => {
    expect(engine.backend).toMatch(/^(onnx|wasm|cpu|tensorflow)/);
  });

  it('finds every face in the group photos, with 68 landmarks inside each box', async () => {
    const counts = await Promise.all([1, 2, 3, 4, 6].map(async (n) => (await engine.detect(sample(n))).faces));
    expect(counts.map((faces) => faces.length)).toEqual([3, 3, 3, 4, 4]);
    for (const face of counts.flat()) {
      expect(face.landmarks).toHaveLength(68);
      expect(face.score).toBeGreaterThan(0.3);
      const [noseX, noseY] = face.landmarks[30];
      expect(noseX).toBeGreaterThan(face.box.x);
      expect(noseX).toBeLessThan(face.box.x + face.box.width);
      expect(noseY).toBeGreaterThan(face.box.y);
      expect(noseY).toBeLessThan(face.box.y + face.box.height);
    }
  });

  it('keeps a face closer to its own transformed copies than to other people', async () => {
    const people = await portraits();
    expect(people).toHaveLength(3);
    const [alice, ...others] = await Promise.all(
      people.map(async (p, i) => only(await engine.analyze(bytes(p, `person${i}.jpg`)))),
    );
    const original = sharp(people[0]);
    const { width = 0, height = 0 } = await original.metadata();
    const copies: Record<string, Buffer> = {
      shift: await sharp(people[0])
        .extract({
          left: Math.round(width * 0.08),
          top: Math.round(height * 0.05),
          width: Math.round(width * 0.9),
          height: Math.round(height * 0.92),
        })
        .toBuffer(),
      scale: await sharp(people[0])
        .resize(Math.round(width * 0.6))
        .toBuffer(),
      rotation: await sharp(people[0]).rotate(6, { background: '#808080' }).toBuffer(),
      brightness: await sharp(people[0]).modulate({ brightness: 1.3 }).toBuffer(),
      jpeg: await sharp(people[0]).jpeg({ quality: 30 }).toBuffer(),
    };
    const nearestStranger = Math.min(...others.map((other) => faceDistance(alice, other)));
    for (const [name, copy] of Object.entries(copies)) {
      const distance = faceDistance(alice, only(await engine.analyze(bytes(copy, `${name}.jpg`))));
      expect(distance, name).toBeLessThan(nearestStranger);
      expect(distance, name).toBeLessThan(FACE_MODEL.threshold);
    }
    expect(nearestStranger).toBeGreaterThan(FACE_MODEL.threshold);
  });

  it('gives the same embeddings whether faces are batched together or embedded alone', async () => {
    // One thread and a long wait: the faces of all three calls must meet in a single forward pass.
    const batching = await FaceEngine.start({ threads: 1, maxBatch: 10, maxWaitMs: 60_000 });
    try {
      const together = await Promise.all([1, 2, 4].map((n) => batching.analyze(sample(n))));
      expect(batching.stats).toEqual({ forwardPasses: 1, facesEmbedded: 10 });

      for (const [i, n] of [1, 2, 4].entries()) {
        const alone = await engine.analyze(sample(n));
        expect(alone.faces).toHaveLength(together[i].faces.length);
        alone.faces.forEach((face, k) => {
          expect(face.box).toEqual(together[i].faces[k].box);
          expect(face.embedding).toHaveLength(FACE_MODEL.embeddingSize);
          expect(faceDistance(face.embedding, together[i].faces[k].embedding)).toBeLessThan(1e-3);
        });
      }
    } finally {
      await batching.close();
    }
  });

  it('refuses each kind of bad input with its code, and loses no other caller’s result', async () => {
    const good = await sharp(sample(3)).jpeg().toBuffer();
    const inputs = {
      missing: '/nonexistent/facepipe/photo.jpg',
      empty: bytes(Buffer.alloc(0), 'empty.jpg'),
      text: bytes(Buffer.from('this is not an image at all'), 'notes.jpg'),
      pgm: bytes(Buffer.concat([Buffer.from('P5\n2 2\n255\n'), Buffer.from([0, 64, 128, 255])]), 'face.pgm'),
      truncated: bytes(good.subarray(0, Math.floor(good.length / 2)), 'cut.jpg'),
    };
    const expected = {
      missing: 'MISSING_FILE',
      empty: 'EMPTY_FILE',
      text: 'NOT_AN_IMAGE',
      pgm: 'UNSUPPORTED_FORMAT',
      truncated: 'TRUNCATED_IMAGE',
    };
    const goodCalls = [1, 2, 3].map((n) => engine.analyze(sample(n)));
    const badCalls = Object.entries(inputs).map(async ([name, input]) => {
      const error = await engine.analyze(input).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(FaceError);
      expect((error as FaceError).code, name).toBe(expected[name as keyof typeof expected]);
    });
    await Promise.all(badCalls);
    expect((await Promise.all(goodCalls)).map((a) => a.faces.length)).toEqual([3, 3, 3]);
  });

  it('refuses a decompression bomb before decoding it', async () => {
    const small = await FaceEngine.start({ threads: 1, maxPixels: 1_000_000 });
    try {
      const error = await small.analyze(sample(1)).catch((e: unknown) => e);
      expect((error as FaceError).code).toBe('TOO_MANY_PIXELS');
      expect((error as FaceError).message).toContain('sample1.jpg');
    } finally {
      await small.close();
    }
  });
});
