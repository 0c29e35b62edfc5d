/**
 * A failed call to the index service (index-client.ts): the service's own error answer
 * (`{ error: { code, message } }` with its HTTP status) or no answer at all (UNREACHABLE).
 */
import { errorCodesWhere } from '../errors/error-codes.js';
import { API_ERROR_CODES } from './index-api-schemas.js';

/** The service's error codes, /readyz's 503 (NOT_READY), and the client's own (`where: 'client'`): no answer (UNREACHABLE, TIMEOUT), an answer that is not the API's (BAD_RESPONSE). */
export const INDEX_SERVICE_ERROR_CODES = [...API_ERROR_CODES, ...errorCodesWhere('client')];

export type IndexServiceErrorCode = (typeof INDEX_SERVICE_ERROR_CODES)[number];

export class IndexServiceError extends Error {
  constructor(
    /** The HTTP status, or null when the service did not answer. */
    readonly status: number | null,
    readonly code: IndexServiceErrorCode | (string & {}),
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IndexServiceError';
  }

  static isIndexServiceError(value: unknown): value is IndexServiceError {
    return value instanceof IndexServiceError;
  }
}
