/** A gallery object that does not parse, or holds a record that is not valid: it is quarantined. */
export class CorruptGalleryObjectError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`corrupt gallery object ${key}: ${reason}`);
    this.name = 'CorruptGalleryObjectError';
  }
}
