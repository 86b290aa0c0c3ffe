// The output schema of one record's answer: compiled once into a validator, and used to
// judge how many tokens an answer takes (for max_tokens and for estimates).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Tokenizer } from '../tokens/tokenizer';

export class OutputSchemaError extends Error {
  override readonly name = 'OutputSchemaError';
}

export interface OutputValidator {
  /** Null when valid, else a short reason naming the offending field. */
  check(answer: unknown): string | null;
}

function describe(errors: readonly ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'does not match the output schema';
  const where = first.instancePath === '' ? 'the answer' : first.instancePath.slice(1).replaceAll('/', '.');
  return `${where} ${first.message ?? 'is invalid'}${first.params && 'allowedValues' in first.params ? ` (${JSON.stringify(first.params.allowedValues)})` : ''}`;
}

export function compileOutputSchema(schema: Record<string, unknown>): OutputValidator {
  const ajv = new Ajv({ strict: false, allErrors: false });
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new OutputSchemaError(`output is not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (schema.type !== 'object' || typeof schema.properties !== 'object') {
    throw new OutputSchemaError('output must be a JSON Schema of an object with "properties" (one answer per record)');
  }
  return { check: (answer) => (validate(answer) ? null : describe(validate.errors)) };
}

/**
 * A generous answer that the schema allows, to count the tokens an answer may take:
 * the longest enum value, mid-length strings, full arrays.
 */
export function sampleAnswer(schema: unknown, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > 8) return null;
  const node = schema as Record<string, unknown>;
  if ('const' in node) return node.const;
  if (Array.isArray(node.enum)) {
    return node.enum.reduce((longest: unknown, value: unknown) =>
      JSON.stringify(value).length > JSON.stringify(longest).length ? value : longest,
    );
  }
  const branches = (node.anyOf ?? node.oneOf) as unknown[] | undefined;
  if (Array.isArray(branches) && branches.length > 0) return sampleAnswer(branches[0], depth + 1);
  const type = Array.isArray(node.type) ? (node.type as unknown[]).find((t) => t !== 'null') : node.type;
  switch (type) {
    case 'object': {
      const properties = (node.properties ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(properties).map(([name, child]) => [name, sampleAnswer(child, depth + 1)]));
    }
    case 'array': {
      const count = Math.min(typeof node.maxItems === 'number' ? node.maxItems : 3, 10);
      return Array.from({ length: count }, () => sampleAnswer(node.items, depth + 1));
    }
    case 'string': {
      const length = typeof node.maxLength === 'number' ? Math.min(node.maxLength, 400) : 120;
      return 'lorem ipsum dolor sit amet '.repeat(Math.ceil(length / 27)).slice(0, length);
    }
    case 'integer':
    case 'number':
      return typeof node.maximum === 'number' ? node.maximum : 12345;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

/** Tokens one record's answer item (with its id) may take, with room to spare. */
export function answerTokensPerRecord(schema: Record<string, unknown>, tokenizer: Tokenizer): number {
  const item = { id: 'record-key-0000', ...(sampleAnswer(schema) as Record<string, unknown>) };
  return Math.ceil(tokenizer.count(JSON.stringify(item)) * 1.25) + 4;
}

/**
 * OpenAI's strict structured outputs accept only schemas where every object lists all its
 * properties as required and forbids others; anything else is sent non-strict.
 */
export function isStrictCompatible(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return true;
  const node = schema as Record<string, unknown>;
  if (node.type === 'object' || node.properties) {
    const properties = Object.keys((node.properties ?? {}));
    const required = Array.isArray(node.required) ? (node.required as string[]) : [];
    if (node.additionalProperties !== false) return false;
    if (!properties.every((name) => required.includes(name))) return false;
  }
  return Object.values(node).every((child) =>
    Array.isArray(child) ? child.every(isStrictCompatible) : typeof child === 'object' ? isStrictCompatible(child) : true,
  );
}

/** Tokens a typical answer item takes, for estimates (no safety margin). */
export function expectedAnswerTokens(schema: Record<string, unknown>, tokenizer: Tokenizer): number {
  return tokenizer.count(JSON.stringify({ id: '12345', ...(sampleAnswer(schema) as Record<string, unknown>) }));
}
