/** A multipart body that cannot be read (no boundary, cut short): the error handler answers 400 BAD_REQUEST. */
export class BadUploadError extends Error {
  readonly statusCode = 400;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BadUploadError';
  }
}
