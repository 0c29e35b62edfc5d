import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_ERROR_CODES, ERROR_CODES, RESULT_ERROR_CODES } from '../src/errors/error-codes.js';
import { ROOT } from './support/cli-process.js';

describe('error codes', () => {
  it('are all listed in the README, each with its one-line meaning', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const missing = ALL_ERROR_CODES.filter(
      (code) =>
        !new RegExp(`\\|\\s*\`${code}\`\\s*\\|`).test(readme) || !readme.includes(ERROR_CODES[code].description),
    );
    expect(missing).toEqual([]);
  });

  it('of a result file are a subset of the one table, and the result schema lists exactly them', async () => {
    const schema = JSON.parse(await readFile(path.join(ROOT, 'schemas/result.schema.json'), 'utf8'));
    expect(RESULT_ERROR_CODES.every((code) => code in ERROR_CODES)).toBe(true);
    const listed: string[] = JSON.stringify(schema).match(/"enum":\[[^\]]*\]/g) ?? [];
    expect(listed.some((e) => RESULT_ERROR_CODES.every((code) => e.includes(`"${code}"`)))).toBe(true);
  });
});
