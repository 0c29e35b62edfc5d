/** A model id or object id as one key segment: percent-encoded, and never '.' or '..'. */
export function keySegment(value: string): string {
  const encoded = encodeURIComponent(value);
  return /^\.+$/.test(encoded) ? encoded.replace(/\./g, '%2E') : encoded;
}
