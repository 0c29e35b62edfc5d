import sharp from 'sharp';

/** A face's box in the (EXIF-oriented) image, as the gallery and result files store it. */
export interface ImageBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** JPEG quality of everything the console shows: small files, faces still recognisable. */
const QUALITY = 80;

/**
 * The face cut out of its image with `margin` (a fraction of the box) around it, clamped to the
 * image, resized to a `size` x `size` square: thumbnails and crops are bounded whatever the photo.
 * `maxPixels` guards the decode like the engine's limit does.
 */
export async function cropFace(
  bytes: Uint8Array,
  box: ImageBox,
  options: { size: number; margin?: number; maxPixels: number },
): Promise<Buffer> {
  const margin = options.margin ?? 0.25;
  // Oriented on load: boxes are in the orientation the engine saw (decode-image rotates by EXIF).
  // One pipeline (header read, then decode, crop, resize, encode): no intermediate image.
  const image = sharp(bytes, { limitInputPixels: options.maxPixels, autoOrient: true });
  const { width, height } = (await image.metadata()).autoOrient;
  const left = clamp(Math.floor(box.x - margin * box.width), 0, width - 1);
  const top = clamp(Math.floor(box.y - margin * box.height), 0, height - 1);
  const right = clamp(Math.ceil(box.x + box.width * (1 + margin)), left + 1, width);
  const bottom = clamp(Math.ceil(box.y + box.height * (1 + margin)), top + 1, height);
  return image
    .extract({ left, top, width: right - left, height: bottom - top })
    .resize(options.size, options.size, { fit: 'cover' })
    .jpeg({ quality: QUALITY })
    .toBuffer();
}

/** The whole image, oriented, no wider or taller than `maxSide` (never enlarged), as JPEG. */
export async function boundedImage(
  bytes: Uint8Array,
  options: { maxSide: number; maxPixels: number },
): Promise<Buffer> {
  return sharp(bytes, { limitInputPixels: options.maxPixels, autoOrient: true })
    .resize(options.maxSide, options.maxSide, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: QUALITY })
    .toBuffer();
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
