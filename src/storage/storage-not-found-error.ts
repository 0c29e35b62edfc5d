import { FaceError } from '../errors/face-error.js';

/**
 * `get` of a key that does not exist. It is a FaceError with code MISSING_FILE, so a missing
 * input ends up in its result file like any other bad input; its message names the key.
 */
export class StorageNotFoundError extends FaceError {
  constructor(
    readonly key: string,
    readonly storageUrl?: string,
  ) {
    super('MISSING_FILE', `not found in storage: ${key}`);
    this.name = 'StorageNotFoundError';
  }

  static isStorageNotFoundError(value: unknown): value is StorageNotFoundError {
    return value instanceof StorageNotFoundError;
  }
}
