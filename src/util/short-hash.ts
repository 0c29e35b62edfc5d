import { createHash } from 'node:crypto';

/** The first `hexDigits` hex digits of the sha256 of `text`: short deterministic ids (no ':'). */
export function shortHash(text: string, hexDigits: number): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, hexDigits);
}
