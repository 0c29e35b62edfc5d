import { shortHash } from '../util/short-hash.js';

/**
 * The deterministic id of a face: 'f' + the first 32 hex digits of a sha256 over the source storage
 * URL, the key, its etag, the model id and the face's index in the image. The same image version enrolled with
 * the same model always gets the same id, so a retried job rewrites, never duplicates. It is also
 * the basis of BullMQ job ids, hence no ':' and never an integer string (the 'f' prefix).
 *
 * `faceIndex` (default 0) tells apart several faces enrolled from one image.
 */
export function faceIdFor(source: string, sourceKey: string, sourceEtag: string, model: string, faceIndex = 0): string {
  if (!Number.isInteger(faceIndex) || faceIndex < 0)
    throw new RangeError(`faceIndex must be an integer >= 0, got ${faceIndex}`);
  // JSON of an array: no ambiguity between ('a|b', 'c') and ('a', 'b|c').
  const input = JSON.stringify([source, sourceKey, sourceEtag, model, faceIndex]);
  return `f${shortHash(input, 32)}`;
}
