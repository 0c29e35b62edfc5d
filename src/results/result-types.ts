/**
 * The types of a result file, inferred from its zod schema (result-schema.ts): written once.
 */
import type { z } from 'zod';
import type { resultFaceSchema, resultMatchSchema, resultSchema } from './result-schema.js';

export { RESULT_SCHEMA_ID } from './result-schema.js';

export type ResultMatch = z.infer<typeof resultMatchSchema>;
export type ResultFace = z.infer<typeof resultFaceSchema>;
export type ResultJson = z.infer<typeof resultSchema>;
/** Why a result lists no faces: a refused input or a transient outage (a ResultErrorCode). */
export type ResultError = NonNullable<ResultJson['error']>;
