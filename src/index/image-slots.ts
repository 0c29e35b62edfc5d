/**
 * A counter of images being analysed by the HTTP service: at most `max` at once. A request over
 * the bound is refused at once (503 BUSY, Retry-After) rather than queued: a queue of uploads holds
 * their bodies in memory and answers late, while a refusal tells the client to come back.
 */
export class ImageSlots {
  private busy = 0;

  constructor(readonly max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`ImageSlots: max must be >= 1, got ${max}`);
  }

  /** Takes a slot; false when all are taken. */
  tryAcquire(): boolean {
    if (this.busy >= this.max) return false;
    this.busy++;
    return true;
  }

  release(): void {
    this.busy = Math.max(0, this.busy - 1);
  }

  get inUse(): number {
    return this.busy;
  }
}
