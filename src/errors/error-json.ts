import { FaceError, type FaceErrorJson } from './face-error.js';

/** Any failure of one image as its `error` JSON: a FaceError as is, anything else as ENGINE_FAILURE. */
export function errorJson(err: unknown): FaceErrorJson {
  if (FaceError.isFaceError(err)) return err.toJSON();
  return { code: 'ENGINE_FAILURE', message: err instanceof Error ? err.message : String(err) };
}
