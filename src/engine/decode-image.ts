import { readFile } from 'node:fs/promises';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { FaceError, type FaceErrorCode } from '../errors/face-error.js';
import type { ImageInput, RgbImage } from './types.js';

export interface DecodeOptions {
  /** Decompression-bomb limit: images with width*height above this are refused before decoding. */
  maxPixels: number;
}

export const DEFAULT_MAX_PIXELS = 50_000_000;

/** When the camera says it took the picture (EXIF), as written: its wall clock, maybe an offset. */
export interface ExifTime {
  /** DateTimeOriginal (with SubSecTimeOriginal) as `YYYY-MM-DDTHH:mm:ss[.SSS]`, no zone. */
  dateTimeOriginal: string;
  /** OffsetTimeOriginal as written, e.g. `+01:00`. */
  offsetTimeOriginal?: string;
}

/** A decoded image, with its EXIF capture time when it has one. */
export interface DecodedImage extends RgbImage {
  exifTime?: ExifTime;
}

// 'truncated' is the least strict level that still refuses cut-off JPEG/PNG data. The sharp default,
// 'warning', also refuses camera JPEGs with benign warnings such as "extraneous bytes before marker".
const FAIL_ON = 'truncated';

// Real image formats this sharp/libvips build cannot decode. sharp reports them exactly like random
// bytes ("unsupported image format"), so they are told apart by their signature. Only consulted after
// sharp has failed, so a libvips build that does support one of them still decodes it.
const startsWith = (b: Buffer, hex: string) => b.subarray(0, hex.length / 2).equals(Buffer.from(hex, 'hex'));
const UNDECODABLE: [name: string, test: (b: Buffer) => boolean][] = [
  ['netpbm PBM/PGM/PPM/PFM', (b) => /^P[1-7Ff]\s/.test(b.toString('latin1', 0, 3))],
  [
    'BMP',
    (b) => b.length >= 18 && startsWith(b, '424d') && [12, 40, 52, 56, 64, 108, 124].includes(b.readUInt32LE(14)),
  ],
  ['JPEG 2000', (b) => startsWith(b, '0000000c6a5020200d0a870a') || startsWith(b, 'ff4fff51')],
  ['JPEG XL', (b) => startsWith(b, 'ff0a') || startsWith(b, '0000000c4a584c200d0a870a')],
  ['HEIC', (b) => b.toString('latin1', 4, 8) === 'ftyp' && /^he(i[cxms]|v[cxms])$/.test(b.toString('latin1', 8, 12))],
  ['PDF', (b) => b.toString('latin1', 0, 5) === '%PDF-'],
  ['Photoshop PSD', (b) => b.toString('latin1', 0, 4) === '8BPS'],
  ['OpenEXR', (b) => startsWith(b, '762f3101')],
];

type Fail = (code: FaceErrorCode, reason: string) => FaceError;

/**
 * Decodes an encoded image to 8-bit sRGB, EXIF orientation applied, alpha flattened on white;
 * with its EXIF capture time, read from the header decoded anyway.
 */
export async function decodeImage(input: ImageInput, options: DecodeOptions): Promise<DecodedImage> {
  const name = typeof input === 'string' ? input : input.name;
  const fail: Fail = (code, reason) => new FaceError(code, `${name}: ${reason}`);
  // limitInputPixels treats 0 as "no limit", so a bad maxPixels must not slip through.
  if (!(options.maxPixels >= 1)) throw new RangeError(`maxPixels must be >= 1, got ${options.maxPixels}`);
  const maxPixels = Math.floor(options.maxPixels);

  const bytes = await readInput(input, fail);
  if (bytes.length === 0) throw fail('EMPTY_FILE', 'empty file (0 bytes)');

  const refuse = (err: unknown, stage: 'header' | 'pixels'): FaceError => {
    const format = UNDECODABLE.find(([, test]) => test(bytes))?.[0];
    if (format) return fail('UNSUPPORTED_FORMAT', `unsupported image format (${format})`);
    const reason = sharpReason(err);
    if (/unsupported image format/i.test(reason))
      return fail('NOT_AN_IMAGE', 'not an image (unrecognised file content)');
    if (/exceeds pixel limit/i.test(reason)) return fail('TOO_MANY_PIXELS', `too many pixels (limit ${maxPixels})`);
    return fail(
      'TRUNCATED_IMAGE',
      `${stage === 'header' ? 'corrupt or truncated image header' : 'truncated image'} (${reason})`,
    );
  };

  // The header alone gives the dimensions, so the pixel limit is checked before any pixel is decoded.
  const {
    width = 0,
    height = 0,
    exif,
  } = await sharp(bytes, { failOn: FAIL_ON })
    .metadata()
    .catch((err: unknown) => {
      throw refuse(err, 'header');
    });
  if (width * height > maxPixels) {
    throw fail('TOO_MANY_PIXELS', `too many pixels (${width}x${height} = ${width * height}, limit ${maxPixels})`);
  }

  const { data, info } = await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: maxPixels }) // first page/frame only (default)
    .rotate() // EXIF auto-orient
    .flatten({ background: '#ffffff' }) // no-op without alpha
    .toColourspace('srgb') // grey -> 3 channels, CMYK -> RGB, 16-bit -> 8-bit
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((err: unknown) => {
      throw refuse(err, 'pixels');
    });
  // Guards the contract (3 channels, 1 byte each) should some odd input slip past the conversions.
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw fail('UNSUPPORTED_FORMAT', `unsupported pixel layout (${info.channels} channels, ${data.length} bytes)`);
  }
  const exifTime = exif ? readExifTime(exif) : undefined;
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    ...(exifTime ? { exifTime } : {}),
  };
}

/** DateTimeOriginal and its offset, or undefined: a broken EXIF block costs the time, not the image. */
function readExifTime(exif: Buffer): ExifTime | undefined {
  let photo: ReturnType<typeof exifReader>['Photo'];
  try {
    photo = exifReader(exif).Photo;
  } catch {
    return undefined;
  }
  // exif-reader reads "YYYY:MM:DD HH:MM:SS" as that wall clock in UTC (null when malformed).
  const taken = photo?.DateTimeOriginal;
  if (!(taken instanceof Date) || !Number.isFinite(taken.getTime())) return undefined;
  const subSeconds = typeof photo?.SubSecTimeOriginal === 'string' ? photo.SubSecTimeOriginal.trim() : '';
  const fraction = /^\d+$/.test(subSeconds) ? `.${subSeconds.slice(0, 3)}` : '';
  const offset = photo?.OffsetTimeOriginal;
  return {
    dateTimeOriginal: `${taken.toISOString().slice(0, 19)}${fraction}`,
    ...(typeof offset === 'string' && offset.trim() !== '' ? { offsetTimeOriginal: offset.trim() } : {}),
  };
}

async function readInput(input: ImageInput, fail: Fail): Promise<Buffer> {
  if (typeof input !== 'string') {
    return Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength); // a view, no copy
  }
  try {
    return await readFile(input);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw fail('MISSING_FILE', 'file not found');
    if (code === 'EISDIR') throw fail('NOT_AN_IMAGE', 'not an image (a directory)');
    throw err;
  }
}

/** sharp's message without libvips prefixes and repeated lines, e.g. "premature end of JPEG image". */
function sharpReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = message
    .split('\n')
    .map((line) => line.replace(/^Input (buffer|file) has corrupt header:\s*/, ''))
    .map((line) => line.replace(/^(VipsJpeg|vipspng|heif|tiff2vips|gifload|webp2vips):\s*/i, '').trim())
    .filter((line) => line !== '' && !line.startsWith('source: bad seek'));
  return [...new Set(lines)].join('; ') || 'unknown decoder error';
}
