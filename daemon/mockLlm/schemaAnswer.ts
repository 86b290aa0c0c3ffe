// Fills a JSON Schema with a value derived from one record, so that structured-output
// answers conform to whatever schema the job declares. Every choice is a pure function of
// the record (its text, its sentiment) and the field's path, never of chance.
import { type SentimentAnalysis } from './analyst';

type Schema = Record<string, unknown>;

export interface AnsweredRecord {
  id: string;
  input: string;
  analysis: SentimentAnalysis;
}

interface Walk {
  readonly root: Schema;
  readonly record: AnsweredRecord;
  /** Objects and arrays entered so far: recursive schemas ($ref) must bottom out. */
  depth: number;
}

/** Past this depth arrays get their fewest items and nullable values are null. */
const maxNesting = 6;

/** FNV-1a: small, stable across runs and platforms, good enough to spread choices. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const scoreLikeName = /score|rating|confidence/i;
const defaultExcerptLength = 32;

function asSchema(value: unknown): Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Schema) : {};
}

function resolveRef(walk: Walk, schema: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema;
  let target: unknown = walk.root;
  for (const part of ref.slice(2).split('/')) target = asSchema(target)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return asSchema(target);
}

function isNullSchema(schema: Schema): boolean {
  return schema.type === 'null' || schema.const === null;
}

/** The branch of anyOf/oneOf (first non-null) or the merge of allOf that describes the value. */
function effectiveSchema(walk: Walk, raw: Schema): Schema {
  const schema = resolveRef(walk, raw);
  const branches = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (Array.isArray(branches) && branches.length > 0) {
    const wantNull = walk.depth > maxNesting;
    const chosen = branches.map(asSchema).find((branch) => isNullSchema(resolveRef(walk, branch)) === wantNull);
    return effectiveSchema(walk, chosen ?? asSchema(branches[0]));
  }
  if (Array.isArray(schema.allOf)) {
    const merged = schema.allOf.map((part) => effectiveSchema(walk, asSchema(part)));
    return merged.reduce<Schema>(
      (all, part) => ({
        ...all,
        ...part,
        properties: { ...asSchema(all.properties), ...asSchema(part.properties) },
        required: [...((all.required as string[] | undefined) ?? []), ...((part.required as string[] | undefined) ?? [])],
      }),
      { ...schema, allOf: undefined },
    );
  }
  return schema;
}

function typeOf(schema: Schema, preferNull = false): string {
  const declared = schema.type;
  if (typeof declared === 'string') return declared;
  if (Array.isArray(declared)) {
    if (preferNull && declared.includes('null')) return 'null';
    return (declared.find((type) => type !== 'null') as string | undefined) ?? 'null';
  }
  if (schema.properties) return 'object';
  if (schema.items) return 'array';
  return 'string';
}

function chooseEnum(walk: Walk, values: readonly unknown[], path: string): unknown {
  const { sentiment } = walk.record.analysis;
  const label = values.find((value) => typeof value === 'string' && value.toLowerCase() === sentiment);
  if (label !== undefined) return label;
  const input = walk.record.input.toLowerCase();
  const mentioned = values.find(
    (value) => (typeof value === 'string' || typeof value === 'number') && input.includes(String(value).toLowerCase()),
  );
  if (mentioned !== undefined) return mentioned;
  return values[stableHash(`${walk.record.input}\u0000${path}`) % values.length];
}

function numericBounds(schema: Schema, integer: boolean): { low: number; high: number } {
  const step = integer ? 1 : 1e-6;
  const num = (key: string) => (typeof schema[key] === 'number' ? (schema[key]) : undefined);
  const exclusiveLow = num('exclusiveMinimum');
  const exclusiveHigh = num('exclusiveMaximum');
  let low = num('minimum') ?? (exclusiveLow === undefined ? undefined : exclusiveLow + step);
  let high = num('maximum') ?? (exclusiveHigh === undefined ? undefined : exclusiveHigh - step);
  if (low === undefined) low = high === undefined ? 0 : Math.min(0, high - 100);
  if (high === undefined) high = low + 100;
  if (integer) {
    low = Math.ceil(low);
    high = Math.floor(high);
  }
  return { low, high: Math.max(low, high) };
}

function numberFor(walk: Walk, schema: Schema, name: string, path: string, integer: boolean): number {
  const { low, high } = numericBounds(schema, integer);
  const fraction = scoreLikeName.test(name)
    ? walk.record.analysis.score / 100
    : (stableHash(`${walk.record.input}\u0000${path}`) % 10_001) / 10_000;
  const value = low + (high - low) * fraction;
  return integer ? Math.min(high, Math.max(low, Math.round(value))) : value;
}

/** The start of the text, counted in code points as JSON Schema's lengths are. */
function excerpt(text: string, schema: Schema): string {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
  const wanted = Math.max(minLength, Math.min(maxLength, defaultExcerptLength));
  // A code point is at most two UTF-16 units: cut long inputs before splitting them.
  const characters = Array.from(text.trim().slice(0, 2 * wanted + 2) || 'n/a');
  let kept = characters.slice(0, wanted);
  while (kept.length < minLength) kept = kept.concat(' ', characters).slice(0, wanted);
  return kept.join('');
}

function formatted(walk: Walk, format: string, path: string): string | undefined {
  const hash = stableHash(`${walk.record.id}\u0000${path}`);
  const hex = hash.toString(16).padStart(8, '0');
  switch (format) {
    case 'date':
      return new Date(Date.UTC(2024, 0, 1) + (hash % 366) * 86_400_000).toISOString().slice(0, 10);
    case 'date-time':
      return new Date(Date.UTC(2024, 0, 1) + (hash % 31_536_000) * 1000).toISOString().replace('.000', '');
    case 'email':
      return `record-${hex}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/records/${encodeURIComponent(walk.record.id)}`;
    case 'uuid':
      return `${hex}-0000-4000-8000-${hex}${hex.slice(0, 4)}`;
    default:
      return undefined;
  }
}

function stringFor(walk: Walk, schema: Schema, path: string, index: number): string {
  if (typeof schema.format === 'string') {
    const value = formatted(walk, schema.format, path);
    if (value !== undefined) return value;
  }
  if (index === 0) return excerpt(walk.record.input, schema);
  // Items of one array start at different words, so that they differ from each other.
  const words = walk.record.input.split(/\s+/).filter(Boolean);
  const first = index % Math.max(words.length, 1);
  return excerpt([...words.slice(first), ...words.slice(0, first)].join(' '), schema);
}

function arrayFor(walk: Walk, schema: Schema, name: string, path: string): unknown[] {
  const minItems = typeof schema.minItems === 'number' ? schema.minItems : 0;
  const maxItems = typeof schema.maxItems === 'number' ? schema.maxItems : Number.POSITIVE_INFINITY;
  const count = Math.min(maxItems, Math.max(minItems, walk.depth > maxNesting ? 0 : 1));
  const items = asSchema(schema.items);
  return Array.from({ length: count }, (_, index) => valueFor(walk, items, name, `${path}[${index}]`, index));
}

/** `preset` fields (the record's id) come first and are not generated. */
function objectFor(walk: Walk, schema: Schema, path: string, preset: Schema = {}): Schema {
  const properties = asSchema(schema.properties);
  const result: Schema = preset;
  for (const name in properties) {
    if (!(name in result)) result[name] = valueFor(walk, asSchema(properties[name]), name, `${path}.${name}`, 0);
  }
  if (Array.isArray(schema.required)) {
    for (const name of schema.required as string[]) {
      if (!(name in result)) result[name] = valueFor(walk, {}, name, `${path}.${name}`, 0);
    }
  }
  return result;
}

function valueFor(walk: Walk, raw: Schema, name: string, path: string, index: number): unknown {
  const schema = effectiveSchema(walk, raw);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return chooseEnum(walk, schema.enum, path);
  const type = typeOf(schema, walk.depth > maxNesting);
  if (type === 'object' || type === 'array') {
    walk.depth++;
    try {
      return type === 'object' ? objectFor(walk, schema, path) : arrayFor(walk, schema, name, path);
    } finally {
      walk.depth--;
    }
  }
  switch (type) {
    case 'integer':
      return numberFor(walk, schema, name, path, true);
    case 'number':
      return numberFor(walk, schema, name, path, false);
    case 'boolean':
      return stableHash(`${walk.record.input}\u0000${path}`) % 2 === 0;
    case 'null':
      return null;
    default:
      return stringFor(walk, schema, path, index);
  }
}

/**
 * A value for `schema` drawn from one record. For an item of a batch answer (the `items` of
 * `batchResponseSchema(output).properties.results`) `id` is the record's id, unless the
 * schema forbids an `id`. `root` is the schema that `$ref`s resolve against.
 */
export function answerRecord(schema: Schema, record: AnsweredRecord, root: Schema = schema): unknown {
  const walk: Walk = { root, record, depth: 0 };
  const effective = effectiveSchema(walk, schema);
  if (typeOf(effective) !== 'object' || 'const' in effective || Array.isArray(effective.enum)) {
    return valueFor(walk, effective, '', '', 0);
  }
  const mayHaveId = 'id' in asSchema(effective.properties) || effective.additionalProperties !== false;
  return objectFor(walk, effective, '', mayHaveId ? { id: record.id } : {});
}
