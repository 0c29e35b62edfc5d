/**
 * The result file's one schema (src/results/result-schema.ts): the committed JSON Schema is the one
 * generated from it, and the zod schema and the JSON Schema (ajv) accept and refuse the same results.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESULT_ERROR_CODES } from '../src/errors/error-codes.js';
import { RESULT_JSON_SCHEMA_PATH, resultJsonSchemaText } from '../src/results/result-json-schema.js';
import { parseResult, parseResultFile, ResultFormatError } from '../src/results/result-schema.js';
import { ROOT } from './support/cli-process.js';
import { assertValidResult } from './support/result-schema.js';
import { failedResultJson, resultJson } from './support/result-json.js';

describe('schemas/result.schema.json', () => {
  it('is what `npm run schemas` generates from the zod schema', () => {
    const committed = readFileSync(path.join(ROOT, RESULT_JSON_SCHEMA_PATH), 'utf8');
    expect(committed, 'schemas/result.schema.json is stale: run `npm run schemas` and commit it').toBe(
      resultJsonSchemaText(),
    );
  });
});

describe('parseResult and the JSON Schema', () => {
  const valid = resultJson('cam/1.jpg', [{ personId: 'alice' }, { personId: null }], {
    modified: '2026-11-28T03:15:00+01:00',
  });

  /** Both validators' verdicts on one value. */
  const verdicts = (value: unknown) => {
    let zod = true;
    let ajv = true;
    try {
      parseResult(value);
    } catch {
      zod = false;
    }
    try {
      assertValidResult(value);
    } catch {
      ajv = false;
    }
    return { zod, ajv };
  };

  it('accepts what facepipe writes, as is', () => {
    for (const result of [valid, resultJson('a.jpg', []), failedResultJson('b.jpg')]) {
      expect(verdicts(result)).toEqual({ zod: true, ajv: true });
      expect(parseResult(result)).toEqual(result);
    }
    for (const code of RESULT_ERROR_CODES) {
      expect(verdicts({ ...failedResultJson('b.jpg'), error: { code, message: 'x' } })).toEqual({
        zod: true,
        ajv: true,
      });
    }
    expect(parseResultFile(new TextEncoder().encode(JSON.stringify(valid)))).toEqual(valid);
  });

  const face = valid.faces[0];
  it.each<[string, unknown]>([
    ['another schema id', { ...valid, schema: 'facepipe.result/v2' }],
    ['a missing field', { ...valid, processedAt: undefined }],
    ['an extra field', { ...valid, extra: 1 }],
    ['a time without a zone', { ...valid, processedAt: '2026-11-28T03:15:00' }],
    ['not a time', { ...valid, input: { ...valid.input, modified: 'yesterday' } }],
    ['an empty input key', { ...valid, input: { ...valid.input, key: '' } }],
    ['a fractional width', { ...valid, input: { ...valid.input, width: 10.5 } }],
    ['a negative threshold', { ...valid, model: { ...valid.model, threshold: -1 } }],
    ['four landmarks', { ...valid, faces: [{ ...face, landmarks: face.landmarks.slice(1) }] }],
    ['a three-number point', { ...valid, faces: [{ ...face, landmarks: [[1, 2, 3], ...face.landmarks.slice(1)] }] }],
    ['a zero-width box', { ...valid, faces: [{ ...face, box: { ...face.box, width: 0 } }] }],
    ['a score over 1', { ...valid, faces: [{ ...face, score: 1.5 }] }],
    ['a blur over 1', { ...valid, faces: [{ ...face, quality: { ...face.quality, blur: 2 } }] }],
    ['a negative distance', { ...valid, faces: [{ ...face, matches: [{ ...face.matches[0], distance: -0.1 }] }] }],
    ['a numeric personId', { ...valid, faces: [{ ...face, personId: 7 }] }],
    // The one narrowing from the hand-written schema: the code is one of RESULT_ERROR_CODES.
    ['an unknown error code', { ...valid, faces: [], error: { code: 'SOMETHING_ELSE', message: 'x' } }],
    ['an error without a message', { ...valid, faces: [], error: { code: 'NO_FACE' } }],
  ])('both refuse %s', (_name, value) => {
    expect(verdicts(value)).toEqual({ zod: false, ajv: false });
  });

  it('names each bad field in a ResultFormatError (a TypeError)', () => {
    const bad = { ...valid, schema: 'facepipe.result/v0', faces: [{ ...face, score: 2 }] };
    const error = (() => {
      try {
        parseResult(bad);
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(ResultFormatError);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^not a facepipe\.result\/v1 result: schema: .*; faces\.0\.score: /);
    expect(() => parseResultFile(new TextEncoder().encode('{"schema": "facepipe.res'))).toThrow(SyntaxError);
  });
});
