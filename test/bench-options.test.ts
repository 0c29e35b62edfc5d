import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { integer, numberList, numeric, parseOptions } from '../bench/bench-options.js';

const flags = {
  n: { type: 'string', default: '200' },
  share: { type: 'string', default: '0.5' },
  sweep: { type: 'string', default: '16,32' },
  quiet: { type: 'boolean', default: false },
} as const;
const schema = z.object({
  n: integer(1),
  share: numeric(z.number().min(0).max(1)),
  sweep: numberList(z.number().int().min(1), 0),
  quiet: z.boolean(),
});

describe('parseOptions', () => {
  it('types the defaults and the given flags', () => {
    expect(parseOptions(flags, schema, [])).toEqual({ n: 200, share: 0.5, sweep: [16, 32], quiet: false });
    expect(parseOptions(flags, schema, ['--n', '7', '--share', '1', '--sweep', '', '--quiet'])).toEqual({
      n: 7,
      share: 1,
      sweep: [],
      quiet: true,
    });
  });

  it('names every bad flag in one error', () => {
    expect(() => parseOptions(flags, schema, ['--n', '2.5', '--share', '2'])).toThrow(/^--n: .*int.*; --share: .*<=1/);
    expect(() => parseOptions(flags, schema, ['--sweep', '16,,32'])).toThrow(/--sweep\[1\]/);
    expect(() => parseOptions(flags, schema, ['--sweep', '16,0'])).toThrow(/--sweep\[1\]: .*>=1/);
    expect(() => parseOptions(flags, schema, ['--n', 'ten'])).toThrow(/--n: .*NaN/);
    expect(() => parseOptions(flags, schema, ['--n', '', '--share', ' '])).toThrow(/^--n: .*NaN; --share: .*NaN/);
    expect(() => parseOptions(flags, schema, ['--bogus'])).toThrow(/bogus/);
  });
});
