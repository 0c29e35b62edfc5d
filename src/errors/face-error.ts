import type { FaceErrorCode } from './error-codes.js';

export { FACE_ERROR_CODES, type FaceErrorCode } from './error-codes.js';

export interface FaceErrorJson {
  code: FaceErrorCode;
  message: string;
}

/** An expected refusal of one input: the caller records it and goes on with the others. */
export class FaceError extends Error {
  constructor(
    readonly code: FaceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FaceError';
  }

  toJSON(): FaceErrorJson {
    return { code: this.code, message: this.message };
  }

  static isFaceError(value: unknown): value is FaceError {
    return value instanceof FaceError;
  }

  /** Errors cross worker-thread boundaries as plain objects; this turns one back into a FaceError. */
  static fromJSON(json: FaceErrorJson): FaceError {
    return new FaceError(json.code, json.message);
  }
}
