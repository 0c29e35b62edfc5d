/**
 * Request validation of the index service with its zod schemas (index-api-schemas.ts), the 400
 * answers worded as they were when fastify validated JSON Schemas with ajv: `body: k must be >= 1`,
 * `querystring: personId is required`, `body: vectors[0][2] must be number`. Clients and tests
 * match on these messages, so the switch to zod does not change them.
 */
import type { FastifyError, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { z } from 'zod';

/**
 * fastify-type-provider-zod's validatorCompiler, parsing with `ajvWording` as the error map: a
 * schema's own messages still win, zod's defaults are worded as ajv's. (The package's compiler
 * keeps neither the input nor the schema in the issues it passes on, which this wording needs.)
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    const result = schema.safeParse(data, { error: ajvWording });
    if (result.success) return { value: result.data };
    return { error: result.error.issues.map(validationError) };
  };

/** The 400 message of a failed validation: `<body|querystring|params>: <field> <what is wrong>`. */
export function validationMessage(error: FastifyError): string {
  const first = error.validation?.[0];
  const context = error.validationContext ?? 'request';
  if (!first) return error.message;
  return `${context}: ${fieldName(first.instancePath) || context} ${first.message ?? 'is invalid'}`;
}

/** zod's default message for the issues ajv also had, in ajv's words; undefined keeps zod's. */
function ajvWording(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${isInteger(issue) ? 'integer' : issue.expected}`;
    case 'too_small':
    case 'too_big': {
      const big = issue.code === 'too_big';
      const bound = big ? issue.maximum : issue.minimum;
      const unit = issue.origin === 'array' ? 'items' : issue.origin === 'string' ? 'characters' : undefined;
      if (unit) return `must NOT have ${big ? 'more' : 'fewer'} than ${bound} ${unit}`;
      return `must be ${big ? '<' : '>'}${issue.inclusive ? '=' : ''} ${bound}`;
    }
    case 'invalid_value':
      return 'must be equal to one of the allowed values';
    default:
      return undefined;
  }
}

/** A type issue of z.int(): "integer" in JSON Schema's words, whether the input was 1.5 or "5". */
function isInteger(issue: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidType>): boolean {
  const format = (issue.inst?._zod.def as { format?: unknown } | undefined)?.format;
  return issue.expected === 'int' || format === 'safeint';
}

/** The issue as fastify expects a validation error (the shape fastify-type-provider-zod gives it). */
function validationError(issue: z.core.$ZodIssue): FastifySchemaValidationError {
  const path = issue.path.map(String).join('/');
  return {
    keyword: issue.code,
    instancePath: `/${path}`,
    schemaPath: `#/${path}/${issue.code}`,
    params: {},
    message: issue.message,
  };
}

/** `/vectors/0/3` -> `vectors[0][3]`. */
function fieldName(instancePath: string): string {
  return instancePath
    .split('/')
    .filter((part) => part !== '')
    .map((part, i) => (/^[0-9]+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}
