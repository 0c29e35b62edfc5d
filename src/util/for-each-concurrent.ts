/**
 * Calls fn on every item with at most `limit` calls in flight, and resolves when all have settled.
 * Callers bound what they hand the engine with this: every image in flight holds its decoded faces
 * in memory until its embeddings come back.
 * fn should handle its own errors; the first one it throws rejects the whole run (after in-flight calls).
 */
export async function forEachConcurrent<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failed = false;
  const lane = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done && !failed; next = iterator.next()) {
      try {
        await fn(next.value);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: Math.max(1, limit) }, lane));
  const failure = lanes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}
