import { z } from 'zod';

/** Longest person id (fastify refuses route parameters over 100 characters unless raised; the service raises it). */
export const MAX_PERSON_ID_LENGTH = 128;

/** The characters of a person id: safe in storage keys, Redis keys, URLs and file names alike. */
export const PERSON_ID_PATTERN = /^[A-Za-z0-9._@-]+$/;

/**
 * The one rule for person ids, everywhere (manifests, folders, HTTP parameters): 1 to 128 of
 * letters, digits, ".", "_", "@", "-". "." and ".." alone are refused (they are path segments).
 */
export const personIdSchema = z
  .string()
  .min(1, { error: 'a person id must not be empty' })
  .max(MAX_PERSON_ID_LENGTH, { error: `a person id has at most ${MAX_PERSON_ID_LENGTH} characters` })
  .regex(PERSON_ID_PATTERN, { error: 'a person id holds only letters, digits, ".", "_", "@" and "-"' })
  .refine((id) => id !== '.' && id !== '..', { error: 'a person id cannot be "." or ".."' });

/** Why `id` is not a valid person id, or undefined when it is. */
export function personIdProblem(id: string): string | undefined {
  const parsed = personIdSchema.safeParse(id);
  return parsed.success ? undefined : parsed.error.issues[0].message;
}
