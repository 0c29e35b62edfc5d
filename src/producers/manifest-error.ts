/** A manifest that cannot be read; the message names the file (when known) and the line. */
export class ManifestError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}
