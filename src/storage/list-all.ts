import type { Storage, StorageObject } from './storage.js';

/** Every object under `prefix`, page after page (`pageSize` objects per list call, if given). */
export async function* listAll(storage: Storage, prefix: string, pageSize?: number): AsyncGenerator<StorageObject> {
  let cursor: string | undefined;
  do {
    const page = await storage.list(prefix, { cursor, limit: pageSize });
    yield* page.items;
    cursor = page.cursor;
  } while (cursor !== undefined);
}
