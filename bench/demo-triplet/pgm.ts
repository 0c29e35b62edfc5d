/** A grey image: one byte per pixel, row-major. */
export interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes a binary PGM (P5) with maxval < 256, the format of the AT&T faces (sharp cannot read
 * it). Header: "P5", width, height, maxval, separated by whitespace, with # comments; then one
 * whitespace byte and width * height bytes.
 */
export function parsePgm(bytes: Uint8Array): GreyImage {
  let pos = 0;
  const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c;
  const token = (): string => {
    for (;;) {
      while (pos < bytes.length && isSpace(bytes[pos])) pos++;
      if (bytes[pos] !== 0x23) break; // '#': comment to the end of the line
      while (pos < bytes.length && bytes[pos] !== 0x0a && bytes[pos] !== 0x0d) pos++;
    }
    const start = pos;
    while (pos < bytes.length && !isSpace(bytes[pos]) && bytes[pos] !== 0x23) pos++;
    return String.fromCharCode(...bytes.subarray(start, pos));
  };
  if (token() !== 'P5') throw new Error('not a binary PGM (P5) image');
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new Error('PGM: bad size');
  if (!Number.isInteger(maxval) || maxval <= 0 || maxval > 255)
    throw new Error(`PGM: unsupported maxval ${maxval} (8-bit only)`);
  pos++; // the single whitespace byte after maxval
  if (bytes.length - pos < width * height)
    throw new Error(`PGM: truncated (${bytes.length - pos} of ${width * height} pixel bytes)`);
  const data = bytes.slice(pos, pos + width * height);
  if (maxval !== 255) for (let i = 0; i < data.length; i++) data[i] = Math.round((data[i] * 255) / maxval);
  return { width, height, data };
}

/** Averages each factor x factor block (the last partial row/column blocks are dropped). */
export function downscaleGrey(
  image: { width: number; height: number; data: ArrayLike<number> },
  factor: number,
): { width: number; height: number; data: Float32Array } {
  const width = Math.floor(image.width / factor);
  const height = Math.floor(image.height / factor);
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let dy = 0; dy < factor; dy++)
        for (let dx = 0; dx < factor; dx++) sum += image.data[(y * factor + dy) * image.width + x * factor + dx];
      data[y * width + x] = sum / (factor * factor);
    }
  }
  return { width, height, data };
}
