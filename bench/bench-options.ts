import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

/** A bench's flags as node:util parseArgs takes them (values are strings or booleans). */
export type BenchFlags = NonNullable<ParseArgsConfig['options']>;

/**
 * A flag's text read as a number and checked by `schema`. Not z.coerce: Number('') is 0, so a
 * blank value (`--epochs ''`, an unset shell variable) would silently run with 0.
 */
export const numeric = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? NaN : Number(v)), schema);
/** A flag's number, at least `min`. */
export const number = (min = 0) => numeric(z.number().min(min));
/** A flag's integer, at least `min`. */
export const integer = (min = 0) => numeric(z.number().int().min(min));
/** A comma-separated list of numbers, each checked by `item`, at least `min` of them ('' is the empty list). */
export const numberList = (item: z.ZodNumber, min = 1) =>
  z
    .string()
    .transform((s) => (s.trim() === '' ? [] : s.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)))))
    .pipe(z.array(item).min(min));

/**
 * The command line parsed with these flags and checked with the schema (its keys are the flags'
 * names): the flags typed, or one error naming every bad flag (unknown flags included).
 */
export function parseOptions<S extends z.ZodType>(
  flags: BenchFlags,
  schema: S,
  args: string[] = process.argv.slice(2),
): z.output<S> {
  const { values } = parseArgs({ args, options: flags });
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const flag = (p: PropertyKey[]) =>
      `--${String(p[0])}${p
        .slice(1)
        .map((n) => `[${String(n)}]`)
        .join('')}`;
    throw new Error(
      parsed.error.issues.map((i) => (i.path.length > 0 ? `${flag(i.path)}: ${i.message}` : i.message)).join('; '),
    );
  }
  return parsed.data;
}

/** `parse()`'s options, or on a bad command line its message after the bench's name on stderr and exit code 2. */
export function optionsOrExit<T>(bench: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    console.error(`${bench}: ${(error as Error).message}`);
    process.exit(2);
  }
}
