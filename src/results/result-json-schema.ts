/**
 * schemas/result.schema.json, generated from the zod schema of the result file (result-schema.ts)
 * by `npm run schemas` (scripts/generate-result-schema.ts); a test checks the committed file is
 * what this generates, so the published JSON Schema cannot drift from the code.
 */
import { z } from 'zod';
import { resultSchema, resultSchemaMetadata } from './result-schema.js';

/** Where the generated file lives, from the repository root. */
export const RESULT_JSON_SCHEMA_PATH = 'schemas/result.schema.json';

export const RESULT_JSON_SCHEMA_ID = 'https://facepipe.dev/schemas/facepipe.result/v1.json';

/** The JSON Schema (draft 2020-12) of a facepipe.result/v1 result file. */
export function resultJsonSchema(): Record<string, unknown> {
  const { $schema, title, description, ...rest } = z.toJSONSchema(resultSchema, {
    target: 'draft-2020-12',
    metadata: resultSchemaMetadata,
    override: ({ jsonSchema }) => {
      // zod spells out what JSON Schema says by itself: the safe-integer bound of z.int(), and the
      // regex behind format date-time (which ajv-formats and other validators check on their own).
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
    },
  });
  return { $schema, $id: RESULT_JSON_SCHEMA_ID, title, description, ...rest };
}

/** The file's text: the schema as 2-space indented JSON with a final newline. */
export function resultJsonSchemaText(): string {
  return `${JSON.stringify(resultJsonSchema(), null, 2)}\n`;
}
