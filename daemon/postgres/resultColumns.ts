// The columns of a Postgres results table: fixed ones for the ledger's facts and one typed
// column per top-level property of the output schema, each with how a result row fills it.
// A value that does not fit its typed column becomes NULL there (the raw answer in `output`
// keeps it), so one odd answer never fails a whole batch.
import { outputColumns, type ColumnKind } from '../sinks/outputColumns';
import type { ResultRow } from '../sinks/sink';
import { identifierProblem } from './identifiers';

export type ColumnType = 'text' | 'bigint' | 'double precision' | 'boolean' | 'jsonb' | 'integer' | 'timestamptz';

export interface ResultColumn {
  name: string;
  type: ColumnType;
  valueOf(row: ResultRow): unknown;
}

// Postgres text and jsonb cannot hold U+0000; it becomes U+FFFD rather than failing the batch.
const withoutNul = (text: string) => text.replaceAll('\u0000', '\uFFFD');

function jsonText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value, (_name, inner: unknown) => (typeof inner === 'string' ? withoutNul(inner) : inner)) ?? null;
}

const integerLimits = { bigint: 2 ** 63, integer: 2 ** 31 };

/** The value for a typed column, or null when it does not fit the column's type. */
export function typedValue(type: ColumnType, value: unknown): unknown {
  switch (type) {
    case 'text':
      return typeof value === 'string' ? withoutNul(value) : null;
    case 'bigint':
    case 'integer':
      // As decimal text: String(1e21) would be "1e+21", which bigint refuses.
      return typeof value === 'number' && Number.isInteger(value) && value >= -integerLimits[type] && value < integerLimits[type]
        ? BigInt(value).toString()
        : null;
    case 'double precision':
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'timestamptz':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : null;
    case 'jsonb':
      return jsonText(value);
  }
}

const fixedColumns: ResultColumn[] = [
  { name: 'key', type: 'text', valueOf: (row) => withoutNul(row.key) },
  { name: 'status', type: 'text', valueOf: (row) => row.status },
  { name: 'output', type: 'jsonb', valueOf: (row) => jsonText(row.output) },
  { name: 'error', type: 'text', valueOf: (row) => typedValue('text', row.error) },
  { name: 'error_class', type: 'text', valueOf: (row) => typedValue('text', row.errorClass) },
  { name: 'attempts', type: 'integer', valueOf: (row) => row.attempts },
  { name: 'prompt_tokens', type: 'integer', valueOf: (row) => row.promptTokens },
  { name: 'completion_tokens', type: 'integer', valueOf: (row) => row.completionTokens },
  { name: 'cost_usd', type: 'double precision', valueOf: (row) => row.costUsd },
  { name: 'model', type: 'text', valueOf: (row) => typedValue('text', row.model) },
  { name: 'updated_at', type: 'timestamptz', valueOf: (row) => typedValue('timestamptz', row.updatedAt) },
];

const typeOfKind: Record<ColumnKind, ColumnType> = {
  text: 'text',
  integer: 'bigint',
  real: 'double precision',
  boolean: 'boolean',
  json: 'jsonb',
};

/**
 * Fixed columns first, then the output schema's properties in schema order (named and typed
 * as in every table sink, see sinks/outputColumns.ts); one that Postgres cannot name (too
 * long) gets no column of its own and lives in `output` only.
 */
export function resultColumns(outputSchema: Record<string, unknown>): ResultColumn[] {
  const columns = [...fixedColumns];
  for (const { field, column, kind } of outputColumns(outputSchema)) {
    if (identifierProblem(column) !== null) continue;
    const type = typeOfKind[kind];
    columns.push({ name: column, type, valueOf: (row) => typedValue(type, row.output?.[field]) });
  }
  return columns;
}
