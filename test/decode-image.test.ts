import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../src/engine/decode-image.js';
import { FaceError, type FaceErrorCode } from '../src/errors/face-error.js';
import type { ImageInput, RgbImage } from '../src/engine/types.js';

const opts = { maxPixels: DEFAULT_MAX_PIXELS };
const W = 40;
const H = 20;
type Colour = { r: number; g: number; b: number; alpha?: number };
const RED: Colour = { r: 255, g: 0, b: 0 };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'decode-image-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A plain W x H image of one colour. */
function solid(colour: Colour = RED, channels: 3 | 4 = 3, width = W, height = H): Sharp {
  return sharp({ create: { width, height, channels, background: colour } });
}

/** A W x H image with pseudo-random pixels, so encoders cannot compress it to almost nothing. */
function noisy(width = 64, height = 48): Sharp {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) % 256;
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

async function save(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

function pixel(image: RgbImage, x: number, y: number): [number, number, number] {
  const i = (y * image.width + x) * 3;
  return [image.data[i], image.data[i + 1], image.data[i + 2]];
}

function expectRgb(image: RgbImage, width: number, height: number): void {
  expect(image.width).toBe(width);
  expect(image.height).toBe(height);
  expect(image.data).toBeInstanceOf(Uint8Array);
  expect(image.data.length).toBe(width * height * 3);
}

function expectRoughlyRed([r, g, b]: [number, number, number]): void {
  expect(r).toBeGreaterThan(200);
  expect(g).toBeLessThan(50);
  expect(b).toBeLessThan(50);
}

async function expectFaceError(input: ImageInput, code: FaceErrorCode, reason: RegExp, maxPixels = DEFAULT_MAX_PIXELS) {
  const name = typeof input === 'string' ? input : input.name;
  const error = await decodeImage(input, { maxPixels }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(FaceError);
  const faceError = error as FaceError;
  expect(faceError.code).toBe(code);
  expect(faceError.message.startsWith(`${name}: `)).toBe(true);
  expect(faceError.message).toMatch(reason);
  return faceError;
}

describe('decodeImage: formats', () => {
  const encoders: Record<string, (s: Sharp) => Sharp> = {
    jpeg: (s) => s.jpeg(),
    png: (s) => s.png(),
    webp: (s) => s.webp(),
    avif: (s) => s.avif(),
    tiff: (s) => s.tiff(),
    gif: (s) => s.gif(),
  };
  for (const [format, encode] of Object.entries(encoders)) {
    it(`decodes ${format} to ${W}x${H} RGB`, async () => {
      const path = await save(`red.${format}`, await encode(solid()).toBuffer());
      const image = await decodeImage(path, opts);
      expectRgb(image, W, H);
      expectRoughlyRed(pixel(image, 0, 0));
      expectRoughlyRed(pixel(image, W - 1, H - 1));
    });
  }

  it('decodes only the first frame of an animated GIF', async () => {
    const frames = await Promise.all([solid(RED).png().toBuffer(), solid({ r: 0, g: 0, b: 255 }).png().toBuffer()]);
    const gif = await sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const image = await decodeImage({ bytes: gif, name: 'anim.gif' }, opts);
    expectRgb(image, W, H);
    expectRoughlyRed(pixel(image, 5, 5));
  });

  it('renders SVG (sharp supports it) to RGB', async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="red"/></svg>`;
    const image = await decodeImage({ bytes: Buffer.from(svg), name: 'red.svg' }, opts);
    expectRgb(image, W, H);
    expectRoughlyRed(pixel(image, 10, 10));
  });
});

describe('decodeImage: orientation and colour conversion', () => {
  it('applies EXIF orientation 6 (rotate 90° clockwise), swapping width and height', async () => {
    // Left half red, right half blue; after a clockwise quarter turn the red half is on top.
    const leftRedRightBlue = await solid({ r: 0, g: 0, b: 255 })
      .composite([
        {
          input: await solid(RED, 3, W / 2, H)
            .png()
            .toBuffer(),
          left: 0,
          top: 0,
        },
      ])
      .png()
      .toBuffer();
    const jpeg = await sharp(leftRedRightBlue).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const meta = await sharp(jpeg).metadata();
    expect([meta.orientation, meta.width, meta.height]).toEqual([6, W, H]);

    const image = await decodeImage({ bytes: jpeg, name: 'rotated.jpg' }, opts);
    expectRgb(image, H, W);
    expectRoughlyRed(pixel(image, H / 2, 2));
    const [r, , b] = pixel(image, H / 2, W - 3);
    expect(b).toBeGreaterThan(200);
    expect(r).toBeLessThan(50);
  });

  it('expands single-channel grey to 3 equal channels', async () => {
    const grey = await solid({ r: 128, g: 128, b: 128 }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const image = await decodeImage({ bytes: grey, name: 'grey.png' }, opts);
    expectRgb(image, W, H);
    const [r, g, b] = pixel(image, 3, 3);
    expect(r).toBe(g);
    expect(g).toBe(b);
    expect(Math.abs(r - 128)).toBeLessThanOrEqual(2);
  });

  for (const format of ['jpeg', 'tiff'] as const) {
    it(`converts CMYK ${format} to RGB (red stays red)`, async () => {
      const cmyk = await solid().toColourspace('cmyk')[format]().toBuffer();
      const meta = await sharp(cmyk).metadata();
      expect([meta.space, meta.channels]).toEqual(['cmyk', 4]);
      const image = await decodeImage({ bytes: cmyk, name: `cmyk.${format}` }, opts);
      expectRgb(image, W, H);
      expectRoughlyRed(pixel(image, 7, 7));
    });
  }

  it('flattens RGBA on white', async () => {
    const halfRed = await solid({ ...RED, alpha: 0.5 }, 4)
      .png()
      .toBuffer();
    const clear = await solid({ ...RED, alpha: 0 }, 4)
      .png()
      .toBuffer();
    expect((await sharp(halfRed).metadata()).channels).toBe(4);
    const image = await decodeImage({ bytes: halfRed, name: 'half.png' }, opts);
    expectRgb(image, W, H);
    const [r, g, b] = pixel(image, 1, 1);
    expect(r).toBeGreaterThan(250);
    expect(Math.abs(g - 128)).toBeLessThanOrEqual(3);
    expect(Math.abs(b - 128)).toBeLessThanOrEqual(3);
    expect(pixel(await decodeImage({ bytes: clear, name: 'clear.png' }, opts), 1, 1)).toEqual([255, 255, 255]);
  });

  it('reduces 16-bit PNG to 8-bit', async () => {
    const png16 = await solid({ r: 255, g: 128, b: 0 }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const image = await decodeImage({ bytes: png16, name: 'deep.png' }, opts);
    expectRgb(image, W, H);
    const [r, g, b] = pixel(image, 2, 2);
    expect(r).toBe(255);
    expect(Math.abs(g - 128)).toBeLessThanOrEqual(2);
    expect(b).toBe(0);
  });
});

describe('decodeImage: input kinds', () => {
  it('gives the same result for a path and for the same bytes', async () => {
    const jpeg = await noisy().jpeg().toBuffer();
    const path = await save('same.jpg', jpeg);
    const fromPath = await decodeImage(path, opts);
    const fromBytes = await decodeImage({ bytes: new Uint8Array(jpeg), name: 'same.jpg' }, opts);
    expect(fromBytes).toEqual(fromPath);
  });

  it('honours the offset of a Uint8Array view into a larger buffer', async () => {
    const png = await noisy().png().toBuffer();
    const padded = new Uint8Array(png.length + 20);
    padded.set(png, 10);
    const view = padded.subarray(10, 10 + png.length);
    expect(await decodeImage({ bytes: view, name: 'view.png' }, opts)).toEqual(
      await decodeImage({ bytes: png, name: 'view.png' }, opts),
    );
  });
});

describe('decodeImage: refusals', () => {
  it('MISSING_FILE for a path that does not exist', async () => {
    await expectFaceError(join(dir, 'nope.jpg'), 'MISSING_FILE', /file not found/);
  });

  it('EMPTY_FILE for a zero-byte file or zero bytes', async () => {
    await expectFaceError(await save('empty.jpg', new Uint8Array(0)), 'EMPTY_FILE', /empty/);
    await expectFaceError({ bytes: new Uint8Array(0), name: 'empty.png' }, 'EMPTY_FILE', /empty/);
  });

  it('NOT_AN_IMAGE for text bytes and for a directory', async () => {
    const text = await save('notes.jpg', Buffer.from('this is a shopping list, not a photo\n'));
    await expectFaceError(text, 'NOT_AN_IMAGE', /not an image/);
    await expectFaceError(dir, 'NOT_AN_IMAGE', /directory/);
  });

  it('UNSUPPORTED_FORMAT for a PGM (netpbm) file', async () => {
    const pgm = Buffer.concat([Buffer.from('P5\n2 2\n255\n'), Buffer.from([0, 64, 128, 255])]);
    const error = await expectFaceError(await save('face.pgm', pgm), 'UNSUPPORTED_FORMAT', /netpbm/);
    expect(error.message).toBe(`${join(dir, 'face.pgm')}: unsupported image format (netpbm PBM/PGM/PPM/PFM)`);
    const ppm = Buffer.concat([Buffer.from('P6\n1 1\n255\n'), Buffer.from([1, 2, 3])]);
    await expectFaceError({ bytes: ppm, name: 'face.ppm' }, 'UNSUPPORTED_FORMAT', /netpbm/);
  });

  it('UNSUPPORTED_FORMAT for signatures of other formats this build cannot decode', async () => {
    const headers: [string, Buffer, RegExp][] = [
      ['x.jp2', Buffer.from('0000000c6a5020200d0a870a00000014667479706a703220', 'hex'), /JPEG 2000/],
      ['x.jxl', Buffer.from('ff0afa1234567890', 'hex'), /JPEG XL/],
      ['x.heic', Buffer.concat([Buffer.from('00000018', 'hex'), Buffer.from('ftypheic\0\0\0\0mif1heic')]), /HEIC/],
      ['x.pdf', Buffer.from('%PDF-1.7\n%\xe2\xe3\n'), /PDF/],
    ];
    for (const [name, bytes, reason] of headers) {
      await expectFaceError({ bytes, name }, 'UNSUPPORTED_FORMAT', reason);
    }
  });

  it('TRUNCATED_IMAGE for a JPEG cut to half its bytes', async () => {
    const jpeg = await noisy().jpeg().toBuffer();
    const half = await save('cut.jpg', jpeg.subarray(0, jpeg.length >> 1));
    await expectFaceError(half, 'TRUNCATED_IMAGE', /truncated image \(premature end of JPEG/);
  });

  it('TRUNCATED_IMAGE for a PNG cut to half its bytes', async () => {
    const png = await noisy().png().toBuffer();
    await expectFaceError({ bytes: png.subarray(0, png.length >> 1), name: 'cut.png' }, 'TRUNCATED_IMAGE', /truncated/);
  });

  it('TRUNCATED_IMAGE for a JPEG cut inside its header', async () => {
    const jpeg = await noisy().jpeg().toBuffer();
    await expectFaceError({ bytes: jpeg.subarray(0, 20), name: 'stub.jpg' }, 'TRUNCATED_IMAGE', /header/);
  });

  it('accepts a JPEG with a benign libjpeg warning (extraneous bytes before a marker)', async () => {
    const jpeg = await noisy().jpeg().toBuffer();
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    const odd = Buffer.concat([jpeg.subarray(0, sos), Buffer.from([0x12, 0x34]), jpeg.subarray(sos)]);
    await expect(sharp(odd).raw().toBuffer()).rejects.toThrow(/extraneous bytes/); // sharp's default failOn refuses it
    expectRgb(await decodeImage({ bytes: odd, name: 'camera.jpg' }, opts), 64, 48);
  });

  it('TOO_MANY_PIXELS when width*height is over maxPixels', async () => {
    const png = await solid().png().toBuffer();
    await expectFaceError({ bytes: png, name: 'big.png' }, 'TOO_MANY_PIXELS', /40x20 = 800, limit 799/, W * H - 1);
    expectRgb(await decodeImage({ bytes: png, name: 'big.png' }, { maxPixels: W * H }), W, H);
  });

  it('rejects maxPixels below 1 (sharp would read 0 as "no limit")', async () => {
    const png = await solid().png().toBuffer();
    await expect(decodeImage({ bytes: png, name: 'x.png' }, { maxPixels: 0 })).rejects.toThrow(RangeError);
  });

  it('checks the pixel limit from the header, without decoding (10000x10000 PNG)', async () => {
    const huge = await sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    expect(huge.length).toBeLessThan(1_000_000); // under 1 MB of file, 300 MB of pixels
    await expectFaceError({ bytes: huge, name: 'bomb.png' }, 'TOO_MANY_PIXELS', /10000x10000/, 50e6);
    // Only the first 1 KB: decoding would fail as truncated, so TOO_MANY_PIXELS proves no pixel was read.
    await expectFaceError({ bytes: huge.subarray(0, 1024), name: 'bomb.png' }, 'TOO_MANY_PIXELS', /10000x10000/, 50e6);
  }, 30_000);
});
