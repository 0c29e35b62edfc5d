import { FaceError } from '../errors/face-error.js';

/**
 * A key of a folder storage that is, or passes through, a symbolic link, while the storage does not
 * follow links (a source, by default): reading it could read outside the folder. A FaceError with
 * code SYMLINK_REFUSED, so that the image fails alone with a code naming it.
 */
export class SymlinkRefusedError extends FaceError {
  constructor(
    readonly key: string,
    readonly storageUrl?: string,
  ) {
    super('SYMLINK_REFUSED', `refused: ${key} is a symbolic link (or under one); links are not followed`);
    this.name = 'SymlinkRefusedError';
  }
}
