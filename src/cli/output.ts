/** Exit codes, as documented in `facepipe --help`. */
export const EXIT = {
  /** Every input was processed. */
  ok: 0,
  /** Some input failed (a bad image, no face where one is needed, an unreadable file). */
  failed: 1,
  /** Bad command line or engine setting. */
  usage: 2,
} as const;

/** One JSON object as one line on stdout: the machine-readable result of a command run. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** A number for human output: fixed decimals, without the noise of full precision. */
export function fixed(value: number, digits = 3): string {
  return value.toFixed(digits);
}
