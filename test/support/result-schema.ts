import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ROOT } from './cli-process.js';

const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas/result.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

/** Throws with every schema violation when `result` is not a valid facepipe.result/v1 document. */
export function assertValidResult(result: unknown, where = 'result'): void {
  if (!validate(result))
    throw new Error(`${where} is not a valid facepipe.result/v1: ${ajv.errorsText(validate.errors)}`);
}
