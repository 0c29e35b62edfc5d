/**
 * The images being analysed by the HTTP service: at most `max` at once, and at most `maxWaiting`
 * more waiting in line for a slot (first come, first served). A request beyond both is refused at
 * once (503 BUSY, Retry-After). The line is bounded because each waiting request holds its body in
 * memory (up to the route's body limit); without a line, a few clients over `max` got 503s they
 * retried at once, and almost none of their images were analysed.
 */
export class ImageSlots {
  private busy = 0;
  private readonly line: Array<{ take: () => void }> = [];

  constructor(
    readonly max: number,
    readonly maxWaiting = 0,
  ) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`ImageSlots: max must be >= 1, got ${max}`);
    if (!Number.isSafeInteger(maxWaiting) || maxWaiting < 0) {
      throw new RangeError(`ImageSlots: maxWaiting must be >= 0, got ${maxWaiting}`);
    }
  }

  /**
   * Takes a slot, waiting in line while all are taken; false at once when the line is full too,
   * or when `signal` aborts while waiting (the client left: its place goes to the next one).
   */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    if (this.busy < this.max) {
      this.busy++;
      return true;
    }
    if (this.line.length >= this.maxWaiting || signal?.aborted) return false;
    return new Promise<boolean>((resolve) => {
      const place = {
        take: () => {
          signal?.removeEventListener('abort', leave);
          resolve(true);
        },
      };
      const leave = () => {
        const at = this.line.indexOf(place);
        if (at >= 0) this.line.splice(at, 1);
        resolve(false);
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.line.push(place);
    });
  }

  /** Gives a slot back: to the first in line (the count stays), else free. */
  release(): void {
    const next = this.line.shift();
    if (next) next.take();
    else this.busy = Math.max(0, this.busy - 1);
  }

  get inUse(): number {
    return this.busy;
  }

  get waiting(): number {
    return this.line.length;
  }
}
