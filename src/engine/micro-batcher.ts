/**
 * Groups single-item calls into batches: batched inference costs far less per item,
 * while a short wait bounds the latency a lone item pays.
 */
export interface MicroBatcherOptions<I, O> {
  /** A batch is sent as soon as it holds this many items. */
  maxBatch: number;
  /** ...or once this long has passed since its first item arrived. */
  maxWaitMs: number;
  /**
   * Processes one batch; must return one output per item, in order.
   * If it rejects (or returns the wrong number of outputs), every item of the batch rejects.
   * An `Error` instance at position i rejects only item i (so O itself should not be an Error type).
   */
  process: (items: I[]) => Promise<O[]>;
}

interface Entry<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

export class MicroBatcher<I, O> {
  private waiting: Entry<I, O>[] = [];
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: MicroBatcherOptions<I, O>) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1)
      throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
  }

  /** Items waiting for their batch to be sent. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Batches sent whose `process` call has not settled yet. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  add(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error('MicroBatcher is closed'));
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.options.maxBatch) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.options.maxWaitMs);
    });
  }

  /**
   * Sends everything waiting now without waiting for the batch to fill.
   * Resolves when those batches have been processed (never rejects: failures go to the items' promises).
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const sent: Promise<void>[] = [];
    while (this.waiting.length > 0) sent.push(this.send(this.waiting.splice(0, this.options.maxBatch)));
    return Promise.all(sent).then(() => {});
  }

  /** Refuses new items, sends what is waiting, and waits for every batch in flight. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await Promise.all([...this.inFlight]);
  }

  // Batches are not serialized: several may be in flight so that several pool workers stay busy.
  private send(batch: Entry<I, O>[]): Promise<void> {
    const done = (async () => {
      try {
        const outputs = await this.options.process(batch.map((e) => e.item));
        if (!Array.isArray(outputs) || outputs.length !== batch.length) {
          throw new Error(
            `MicroBatcher process returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} outputs for ${batch.length} items`,
          );
        }
        batch.forEach((e, i) => {
          if (outputs[i] instanceof Error) e.reject(outputs[i]);
          else e.resolve(outputs[i]);
        });
      } catch (err) {
        for (const e of batch) e.reject(err);
      }
    })();
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return done;
  }
}
