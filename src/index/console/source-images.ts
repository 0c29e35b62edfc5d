import { openSourceStorage } from '../../storage/open-storage.js';
import type { Storage } from '../../storage/storage.js';

/**
 * Reads the images the deployment's own records name (a gallery record's source and key, a run's
 * source and a snapshot key of its results), from the storage they were read from: a folder or S3
 * alike. Callers never pass a key a client wrote: that is what keeps the console's image routes
 * from reading anything the deployment did not process. Links in folders are not followed.
 */
export class SourceImages {
  private readonly opened = new Map<string, Storage>();

  constructor(private readonly open: (url: string) => Storage = (url) => openSourceStorage(url)) {}

  async read(sourceUrl: string, key: string): Promise<Uint8Array> {
    let storage = this.opened.get(sourceUrl);
    if (storage === undefined) {
      storage = this.open(sourceUrl);
      this.opened.set(sourceUrl, storage);
    }
    return storage.get(key);
  }
}
