/**
 * Every error code facepipe can put in a result file, a job's failure or an HTTP error answer:
 * one table, so that the README, the result schema and the HTTP layer list the same codes.
 * Codes are stable: users' scripts match on them.
 */
export const ERROR_CODES = {
  // One input image refused (result files, job failures, HTTP 400/422).
  MISSING_FILE: { where: 'result', description: 'the key or file does not exist' },
  EMPTY_FILE: { where: 'result', description: 'the file has zero bytes' },
  NOT_AN_IMAGE: { where: 'result', description: 'the bytes are not an image sharp can read' },
  UNSUPPORTED_FORMAT: { where: 'result', description: 'an image format facepipe does not decode (e.g. HEIC)' },
  TRUNCATED_IMAGE: { where: 'result', description: 'the image ends early or is corrupt' },
  TOO_MANY_PIXELS: { where: 'result', description: 'more pixels than the configured cap (decompression bomb guard)' },
  NO_FACE: { where: 'result', description: 'no face found (enrollment, verification)' },
  ENGINE_FAILURE: { where: 'result', description: 'the engine failed on this image for another reason' },
  // Transient outages seen by an identify job.
  INDEX_UNAVAILABLE: { where: 'result', description: 'the index service did not answer the search' },
  SOURCE_UNAVAILABLE: { where: 'result', description: 'the source storage could not be read' },
  // Run summaries and `facepipe failures`.
  NO_RESULT: {
    where: 'job',
    description: 'a snapshot of the run without a result file: its job failed for good or has not run yet',
  },
  NOT_ENROLLED: { where: 'job', description: 'an image whose enroll job ended without a gallery record' },
  INVALID_PERSON_ID: {
    where: 'job',
    description: 'a manifest line or person folder whose id is not 1-128 of letters, digits, ".", "_", "@", "-"',
  },
  // Answers of the index service's HTTP API.
  BAD_REQUEST: { where: 'http', description: 'the request body, query or parameters are invalid' },
  NOT_FOUND: { where: 'http', description: 'no such person, route or resource' },
  PAYLOAD_TOO_LARGE: { where: 'http', description: 'the uploaded body is larger than allowed' },
  UNSUPPORTED_MEDIA_TYPE: { where: 'http', description: 'the body is not of an accepted content type' },
  CONFLICT: { where: 'http', description: 'the request conflicts with the current state (e.g. a rebuild running)' },
  MODEL_MISMATCH: { where: 'http', description: "the vectors are another model's than the index holds" },
  ENGINE_UNAVAILABLE: {
    where: 'http',
    description: 'the service runs without a face engine and cannot analyse images',
  },
  UNAUTHORIZED: { where: 'http', description: 'no API key, or one that is unknown or revoked' },
  FORBIDDEN: { where: 'http', description: "the API key's role does not allow this route" },
  BUSY: {
    where: 'http',
    description: 'the service is analysing as many images as it allows and its line is full: retry after Retry-After',
  },
  NOT_READY: { where: 'http', description: 'the service is still loading its index' },
  INTERNAL: { where: 'http', description: 'an unexpected server error' },
  // The index client's own, when the service gave no usable answer.
  UNREACHABLE: { where: 'client', description: 'the index service did not accept the connection' },
  TIMEOUT: { where: 'client', description: 'the index service did not answer in time' },
  BAD_RESPONSE: { where: 'client', description: "the answer was not the API's JSON" },
  // Sources: files a run does not read, and why (summaries' `skipped`, result files).
  SYMLINK_REFUSED: {
    where: 'result',
    description: 'a symbolic link inside a folder source: not followed (FACEPIPE_FOLLOW_SYMLINKS=true allows)',
  },
  UNSUPPORTED_TYPE: {
    where: 'job',
    description: 'a file of a source whose extension is not an image type facepipe reads (.bmp, .pgm, ...): skipped',
  },
  OUTSIDE_LAYOUT: {
    where: 'job',
    description: 'an image of a folder enroll source that is not at <personId>/<image>: skipped',
  },
  INVALID_KEY: {
    where: 'job',
    description: 'a manifest key the storage refuses (absolute, "..", empty segment): not read',
  },
} as const satisfies Record<string, { where: 'result' | 'job' | 'http' | 'client'; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** Codes of one refused input image: what the engine and the storage raise as a FaceError. */
export const FACE_ERROR_CODES = [
  'MISSING_FILE',
  'EMPTY_FILE',
  'NOT_AN_IMAGE',
  'UNSUPPORTED_FORMAT',
  'TRUNCATED_IMAGE',
  'TOO_MANY_PIXELS',
  'NO_FACE',
  'ENGINE_FAILURE',
  'SYMLINK_REFUSED',
] as const satisfies readonly ErrorCode[];

export type FaceErrorCode = (typeof FACE_ERROR_CODES)[number];

/** The codes whose `where` is W. */
type CodeWhere<W> = { [C in ErrorCode]: (typeof ERROR_CODES)[C]['where'] extends W ? C : never }[ErrorCode];

/** The codes whose `where` is `where`, in the table's order: lists read from the table cannot miss a code. */
export function errorCodesWhere<W extends (typeof ERROR_CODES)[ErrorCode]['where']>(where: W): CodeWhere<W>[] {
  return ALL_ERROR_CODES.filter((code): code is CodeWhere<W> => ERROR_CODES[code].where === where);
}

/** Codes a result file's `error` may carry: a refused input or a transient outage. */
export const RESULT_ERROR_CODES = errorCodesWhere('result');

export type ResultErrorCode = (typeof RESULT_ERROR_CODES)[number];
