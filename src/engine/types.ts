export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Point = [number, number];

/** An image decoded to 8-bit RGB, row-major, 3 bytes per pixel. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** What the engine is given: a path on disk or the bytes of an encoded image (with a name for errors). */
export type ImageInput = string | { bytes: Uint8Array; name: string };
