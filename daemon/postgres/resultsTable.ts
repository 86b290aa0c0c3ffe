// Makes sure the results table exists with every column the job needs: created when
// missing, missing columns added to an existing table, incompatible ones reported.
import type { PoolClient } from 'pg';
import { quoteIdentifier } from '../sql/identifiers';
import { displayQualified, type QualifiedName, quoteQualified } from './identifiers';
import type { ResultRow } from '../sinks/sink';
import type { ColumnType, ResultColumn } from './resultColumns';

// What an existing column may be (as format_type spells it) for values of each type.
const acceptedTypes: Record<ColumnType, string[]> = {
  text: ['text', 'character varying'],
  bigint: ['bigint', 'numeric'],
  integer: ['integer', 'bigint', 'numeric'],
  'double precision': ['double precision', 'numeric'],
  boolean: ['boolean'],
  jsonb: ['jsonb', 'json'],
  timestamptz: ['timestamp with time zone'],
};

function columnDefinition(column: ResultColumn): string {
  return `${quoteIdentifier(column.name)} ${column.type}${column.name === 'key' ? ' PRIMARY KEY' : ''}`;
}

export async function prepareResultsTable(
  client: PoolClient,
  table: QualifiedName,
  columns: readonly ResultColumn[],
  fail: (message: string) => Error,
): Promise<void> {
  const tableSql = quoteQualified(table);
  const label = `sink.table "${displayQualified(table)}"`;
  await client.query('BEGIN');
  // Two jobs (or daemons) preparing the same table at once would race on CREATE TABLE.
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [tableSql]);
  await client.query(`CREATE TABLE IF NOT EXISTS ${tableSql} (${columns.map(columnDefinition).join(', ')})`);

  const relation = await client.query<{ kind: string }>('SELECT relkind AS kind FROM pg_class WHERE oid = to_regclass($1)', [tableSql]);
  const kind = relation.rows[0]?.kind;
  if (kind !== 'r' && kind !== 'p') throw fail(`${label} exists but is not a table (it is a view or similar); choose another sink.table`);

  const existing = await client.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, NULL) AS type FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [tableSql],
  );
  const existingTypes = new Map(existing.rows.map((row) => [row.name, row.type]));
  const incompatible = columns.flatMap((column) => {
    const type = existingTypes.get(column.name);
    if (type === undefined || acceptedTypes[column.type].includes(type)) return [];
    return [`column "${column.name}" is ${type} but needs ${acceptedTypes[column.type].join(' or ')}`];
  });
  if (incompatible.length > 0) {
    throw fail(
      `${label} already exists with incompatible columns: ${incompatible.join('; ')}. ` +
        'Alter or drop those columns, or choose another sink.table.',
    );
  }
  for (const column of columns.filter((candidate) => !existingTypes.has(candidate.name))) {
    await client.query(`ALTER TABLE ${tableSql} ADD COLUMN IF NOT EXISTS ${quoteIdentifier(column.name)} ${column.type}`);
  }

  // The upsert's ON CONFLICT ("key") needs a unique index on exactly that column.
  const unique = await client.query(
    `SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indnkeyatts = 1
        AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = 'key'`,
    [tableSql],
  );
  if (unique.rowCount === 0) {
    throw fail(
      `${label} has no primary key or unique index on column "key"; ` +
        'add one (ALTER TABLE … ADD PRIMARY KEY (key)) or choose another sink.table',
    );
  }
  await client.query('COMMIT');
}

/**
 * One multi-row upsert by key: the rows travel as one array per column
 * (`INSERT … SELECT * FROM unnest($1::text[], …)`), a single statement whatever their number.
 */
export function resultsUpsert(table: QualifiedName, columns: readonly ResultColumn[]): { sql: string; values(rows: readonly ResultRow[]): unknown[][] } {
  const names = columns.map((column) => quoteIdentifier(column.name));
  const arrays = columns.map((column, index) => `$${index + 1}::${column.type}[]`);
  const updates = names.filter((name) => name !== '"key"').map((name) => `${name} = EXCLUDED.${name}`);
  return {
    sql:
      `INSERT INTO ${quoteQualified(table)} (${names.join(', ')}) SELECT * FROM unnest(${arrays.join(', ')}) ` +
      `ON CONFLICT ("key") DO UPDATE SET ${updates.join(', ')}`,
    // One statement cannot update the same key twice; the later row of a key wins.
    values: (rows) => {
      const latest = [...new Map(rows.map((row) => [row.key, row])).values()];
      return columns.map((column) => latest.map((row) => column.valueOf(row)));
    },
  };
}
