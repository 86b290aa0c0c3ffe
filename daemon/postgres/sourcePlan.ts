// What a Postgres source reads: the user's query as given, or a table resolved once at open
// (schema included, so a later change of search_path cannot switch tables mid-run).
import type { PoolClient } from 'pg';
import { displayQualified, parseQualifiedName, quoteQualified } from './identifiers';
import { notASelect, withoutTrailingSemicolons } from './sourceQuery';

export interface SourceTable {
  oid: number;
  /** Quoted `"schema"."table"`. */
  sql: string;
  /** `schema.table` for messages. */
  label: string;
  /** A table or materialized view (TABLESAMPLE and planner statistics work), not a view. */
  sampleable: boolean;
}

export interface SourcePlan {
  /** The SELECT the records come from. */
  select: string;
  table: SourceTable | null;
}

type Fail = (message: string) => Error;

export function planQuery(query: string, fail: Fail): SourcePlan {
  const select = withoutTrailingSemicolons(query);
  const problem = notASelect(select);
  if (problem !== null) throw fail(problem);
  return { select, table: null };
}

export async function planTable(client: PoolClient, tableOption: string, fail: Fail): Promise<SourcePlan> {
  const parsed = parseQualifiedName(tableOption);
  if (typeof parsed === 'string') throw fail(`source.table: ${parsed}`);
  // to_regclass parses the quoted name as data: an odd name is looked up, never executed.
  const found = await client.query<{ oid: number; schema: string; name: string; kind: string }>(
    `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
    [quoteQualified(parsed)],
  );
  const relation = found.rows[0];
  if (relation === undefined) {
    const tables = await client.query<{ label: string }>(
      `SELECT table_schema || '.' || table_name AS label FROM information_schema.tables
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 30`,
    );
    const names = tables.rows.map((row) => row.label);
    const listed = names.length === 0 ? 'there are none' : `tables here: ${names.join(', ')}`;
    throw fail(`source.table: no table or view "${displayQualified(parsed)}" in this database (${listed})`);
  }
  const qualified = { schema: relation.schema, name: relation.name };
  const sql = quoteQualified(qualified);
  return {
    select: `SELECT * FROM ${sql}`,
    table: {
      oid: Number(relation.oid),
      sql,
      label: displayQualified(qualified),
      sampleable: ['r', 'p', 'm'].includes(relation.kind),
    },
  };
}
