/**
 * Index searches run one per event-loop turn, first come first served. A search of 8 vectors at
 * 1152-D costs milliseconds of CPU on the main thread (hnswlib is synchronous). Run straight from
 * their handlers, the searches of every request that arrived in one poll phase ran back to back
 * before any other callback: with 50 clients, /healthz and every other route waited behind 50 of
 * them (over a second under load). Queued here, each vector's search gets its own turn after a
 * setImmediate, and the I/O that arrived meanwhile (a probe, a new request's body) is handled
 * between two of them.
 * Throughput is unchanged: the same searches run, in arrival order.
 */
export class SearchTurns {
  /** Each job runs one step per turn and stays first in line until its last step. */
  private readonly queue: Array<() => boolean> = [];
  private scheduled = false;

  /** `search`'s result (or its error), computed in a turn of its own after the searches queued before it. */
  run<T>(search: () => T): Promise<T> {
    return this.each([undefined], () => search()).then(([result]) => result);
  }

  /**
   * `search` of each item, one item per turn (a probe waits for one vector's search, not a whole
   * request's), the items of one call in consecutive turns: requests still finish in arrival order.
   * The first error rejects and skips the call's remaining items.
   */
  each<I, O>(items: readonly I[], search: (item: I, index: number) => O): Promise<O[]> {
    return new Promise<O[]>((resolve, reject) => {
      const results: O[] = [];
      if (items.length === 0) {
        resolve(results);
        return;
      }
      this.queue.push(() => {
        try {
          results.push(search(items[results.length], results.length));
        } catch (err) {
          reject(err);
          return true;
        }
        if (results.length < items.length) return false;
        resolve(results);
        return true;
      });
      this.schedule();
    });
  }

  /** Searches queued and not yet finished. */
  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate, not a microtask: the poll phase (I/O callbacks) runs between two turns.
    setImmediate(() => {
      this.scheduled = false;
      const step = this.queue[0];
      if (step?.()) this.queue.shift();
      this.schedule();
    });
  }
}
