/**
 * Index searches run one per event-loop turn, first come first served. A search of 8 vectors at
 * 1152-D costs milliseconds of CPU on the main thread (hnswlib is synchronous). Run straight from
 * their handlers, the searches of every request that arrived in one poll phase ran back to back
 * before any other callback: with 50 clients, /healthz and every other route waited behind 50 of
 * them (over a second under load). Queued here, each search gets its own turn after a setImmediate,
 * and the I/O that arrived meanwhile (a probe, a new request's body) is handled between two searches.
 * Throughput is unchanged: the same searches run, in arrival order.
 */
export class SearchTurns {
  private readonly queue: Array<() => void> = [];
  private scheduled = false;

  /** `search`'s result (or its error), computed in a turn of its own after the searches queued before it. */
  run<T>(search: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => {
        try {
          resolve(search());
        } catch (err) {
          reject(err);
        }
      });
      this.schedule();
    });
  }

  /** Searches queued and not yet run. */
  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate, not a microtask: the poll phase (I/O callbacks) runs between two turns.
    setImmediate(() => {
      this.scheduled = false;
      this.queue.shift()?.();
      this.schedule();
    });
  }
}
