/** A source that cannot be run: it does not exist, or holds no image. The CLI exits 1 with the message. */
export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}
