// Top-level fields of the output schema become columns in table and CSV sinks, typed where
// the schema says how; a field whose name clashes with a fixed column gets an `output_` prefix.
export type ColumnKind = 'text' | 'integer' | 'real' | 'boolean' | 'json';

export interface OutputColumn {
  /** The field in the answer. */
  field: string;
  /** The column it lands in. */
  column: string;
  kind: ColumnKind;
}

export const fixedColumns = [
  'key', 'status', 'output', 'error', 'error_class', 'attempts', 'prompt_tokens', 'completion_tokens', 'cost_usd', 'model', 'updated_at',
] as const;

function kindOf(schema: unknown): ColumnKind {
  if (typeof schema !== 'object' || schema === null) return 'json';
  const node = schema as Record<string, unknown>;
  if (Array.isArray(node.enum) && node.enum.every((value) => typeof value === 'string')) return 'text';
  const types = (Array.isArray(node.type) ? node.type : [node.type]).filter((type) => type !== 'null');
  if (types.length !== 1) return 'json';
  switch (types[0]) {
    case 'string':
      return 'text';
    case 'integer':
      return 'integer';
    case 'number':
      return 'real';
    case 'boolean':
      return 'boolean';
    default:
      return 'json';
  }
}

export function outputColumns(schema: Record<string, unknown>): OutputColumn[] {
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  return Object.entries(properties).map(([field, child]) => ({
    field,
    column: (fixedColumns as readonly string[]).includes(field.toLowerCase()) ? `output_${field}` : field,
    kind: kindOf(child),
  }));
}

/** The value for a typed column, or null when the answer's value does not fit it. */
export function columnValue(kind: ColumnKind, value: unknown): string | number | null {
  if (value === undefined || value === null) return null;
  switch (kind) {
    case 'text':
      return typeof value === 'string' ? value : null;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? value : null;
    case 'real':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? (value ? 1 : 0) : null;
    case 'json':
      return JSON.stringify(value);
  }
}
