import type { RefusedObject, Storage, StorageObject } from './storage.js';

/**
 * Every object under `prefix`, page after page (`pageSize` objects per list call, if given);
 * `onRefused` hears of each entry the listing left out (a link a folder source does not follow).
 */
export async function* listAll(
  storage: Storage,
  prefix: string,
  pageSize?: number,
  onRefused?: (refused: RefusedObject) => void,
): AsyncGenerator<StorageObject> {
  let cursor: string | undefined;
  do {
    const page = await storage.list(prefix, { cursor, limit: pageSize });
    if (onRefused !== undefined) for (const refused of page.refused ?? []) onRefused(refused);
    yield* page.items;
    cursor = page.cursor;
  } while (cursor !== undefined);
}
