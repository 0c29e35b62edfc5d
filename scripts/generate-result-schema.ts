/**
 * Writes schemas/result.schema.json from the result file's zod schema (src/results/result-schema.ts).
 * Run with `npm run schemas` after changing that schema; test/result-schema.test.ts fails until then.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_JSON_SCHEMA_PATH, resultJsonSchemaText } from '../src/results/result-json-schema.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(path.join(root, RESULT_JSON_SCHEMA_PATH), resultJsonSchemaText());
console.log(`wrote ${RESULT_JSON_SCHEMA_PATH}`);
