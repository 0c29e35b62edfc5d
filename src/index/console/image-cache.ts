/**
 * A bounded least-recently-used cache of encoded images (thumbnails, crops): the console asks for
 * the same few hundred again and again, and each costs a storage read and a sharp pass. Bounded by
 * total bytes, so a gallery of 100,000 persons cannot grow the service's memory without end.
 */
export class ImageCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = 32 * 1024 * 1024) {}

  get(key: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    // Map keeps insertion order: re-inserting marks it as the most recently used.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, image: Buffer): void {
    if (image.byteLength > this.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.bytes -= previous.byteLength;
      this.entries.delete(key);
    }
    this.entries.set(key, image);
    this.bytes += image.byteLength;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.byteLength;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
