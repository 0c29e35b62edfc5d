import { InvalidArgumentError } from 'commander';

/** A commander argument parser for an integer in [min, max]. */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}.`
          : `expected an integer from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

/** A commander argument parser for a finite number >= min. */
export function numberArg(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min)
      throw new InvalidArgumentError(`expected a number >= ${min}.`);
    return n;
  };
}

/** A commander argument parser for a number in [0, 1). */
export function fractionArg(value: string): number {
  const n = numberArg(0)(value);
  if (n >= 1) throw new InvalidArgumentError('expected a fraction in [0, 1).');
  return n;
}

/** One of `allowed`. */
export function choiceArg<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if (!allowed.includes(value as T)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}.`);
    return value as T;
  };
}

/** A comma-separated list whose items are all in `allowed`. */
export function listArg<T extends string>(allowed: readonly T[]): (value: string) => T[] {
  return (value) => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const bad = items.filter((s) => !allowed.includes(s as T));
    if (items.length === 0 || bad.length > 0)
      throw new InvalidArgumentError(`expected a comma-separated list of ${allowed.join(', ')}.`);
    return items as T[];
  };
}
