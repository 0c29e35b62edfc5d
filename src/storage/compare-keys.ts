/**
 * Orders keys as S3 does: by their UTF-8 bytes, which is code-point order. Plain `<` on JS
 * strings compares UTF-16 code units and differs for characters beyond U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca - cb;
    if (ca > 0xffff) i++; // a surrogate pair: equal in both strings
  }
  return a.length - b.length;
}
