import type { Box, RgbImage } from '../types.js';

/** A face's crop as face-api's landmark net takes it, and what maps its output back to the image. */
export interface FaceCrop {
  /** size x size x 3 float pixels 0..255. */
  pixels: Float32Array;
  /** The crop's width and height in image pixels (before padding and resizing). */
  width: number;
  height: number;
}

/**
 * face-api's extractFaceTensors + NetInput.toBatchTensor(size, true) without tfjs: the box clipped
 * to the image and floored, the crop padded with zeros to a square (the odd pixel before it, as
 * padToSquare does), then resized bilinearly as tf.image.resizeBilinear (no corner alignment, no
 * half-pixel centres) when it is not already `size` square.
 */
export function faceCrop(image: RgbImage, box: Box, size: number): FaceCrop {
  const x0 = Math.max(box.x, 0);
  const y0 = Math.max(box.y, 0);
  const x = Math.floor(x0);
  const y = Math.floor(y0);
  const width = Math.floor(Math.min(box.x + box.width - x0, image.width - x0));
  const height = Math.floor(Math.min(box.y + box.height - y0, image.height - y0));
  if (width <= 0 || height <= 0) throw new RangeError(`face box ${JSON.stringify(box)} lies outside the image`);
  const side = Math.max(width, height);
  const diff = side - Math.min(width, height);
  const before = diff - Math.round(diff * 0.5);
  const [left, top] = width < height ? [before, 0] : [0, before];
  /** The padded square's pixel (row, column, channel). */
  const at = (r: number, c: number, d: number): number => {
    const rr = r - top;
    const cc = c - left;
    if (rr < 0 || rr >= height || cc < 0 || cc >= width) return 0;
    return image.data[((y + rr) * image.width + (x + cc)) * 3 + d];
  };
  const pixels = new Float32Array(size * size * 3);
  const ratio = side / size;
  let o = 0;
  for (let r = 0; r < size; r++) {
    const fr = ratio * r;
    const r0 = Math.max(0, Math.floor(fr));
    const rowFrac = fr - r0;
    const r1 = Math.min(side - 1, Math.ceil(fr));
    for (let c = 0; c < size; c++) {
      const fc = ratio * c;
      const c0 = Math.max(0, Math.floor(fc));
      const colFrac = fc - c0;
      const c1 = Math.min(side - 1, Math.ceil(fc));
      for (let d = 0; d < 3; d++) {
        const topLeft = at(r0, c0, d);
        const top = topLeft + (at(r0, c1, d) - topLeft) * colFrac;
        const bottomLeft = at(r1, c0, d);
        const bottom = bottomLeft + (at(r1, c1, d) - bottomLeft) * colFrac;
        pixels[o++] = top + (bottom - top) * rowFrac;
      }
    }
  }
  return { pixels, width, height };
}
