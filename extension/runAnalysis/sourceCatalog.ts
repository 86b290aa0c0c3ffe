// What a database offers to analyse — its tables, a table's columns — asked of the daemon
// with the one tool it has for reading sources, source.preview, over the database's own
// catalogue (sqlite_schema and pragma_table_info; information_schema on Postgres). The
// extension never opens a database itself. No `vscode`.
import type { DaemonClient } from '../../daemon/daemonClient/daemonClient';

export type DatabaseSource = { type: 'sqlite'; path: string } | { type: 'postgres'; url: string };

export interface Column {
  name: string;
  /** As the database declares it (`TEXT`, `integer`, `character varying`); may be empty. */
  type: string;
}

/** The catalogue holds at most this many rows of interest per question (source.preview's limit). */
const catalogLimit = 200;

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

async function catalogRows(client: DaemonClient, source: DatabaseSource, query: string, key: string): Promise<Record<string, unknown>[]> {
  const spec = { name: 'drover-catalog', source: { ...source, query, key }, prompt: { template: '-' } };
  const { records } = await client.call('source.preview', { spec, limit: catalogLimit });
  return records.filter((record) => record.error === null).map((record) => record.fields);
}

export async function listTables(client: DaemonClient, source: DatabaseSource): Promise<string[]> {
  const query =
    source.type === 'sqlite'
      ? "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
      : "SELECT CASE WHEN table_schema = 'public' THEN table_name ELSE table_schema || '.' || table_name END AS name " +
        "FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg_toast%'";
  const rows = await catalogRows(client, source, query, 'name');
  return rows.map((row) => String(row.name));
}

export async function listColumns(client: DaemonClient, source: DatabaseSource, table: string): Promise<Column[]> {
  let query: string;
  if (source.type === 'sqlite') {
    query = `SELECT cid, name, type FROM pragma_table_info(${literal(table)})`;
  } else {
    const [schema, name] = table.includes('.') ? [table.slice(0, table.indexOf('.')), table.slice(table.indexOf('.') + 1)] : ['public', table];
    query =
      'SELECT ordinal_position AS cid, column_name AS name, data_type AS type FROM information_schema.columns ' +
      `WHERE table_schema = ${literal(schema)} AND table_name = ${literal(name)}`;
  }
  const rows = await catalogRows(client, source, query, 'cid');
  return rows.map((row) => ({ name: String(row.name), type: typeof row.type === 'string' ? row.type : '' }));
}

/** The columns a query returns, from its first row (a query with no rows tells nothing). */
export async function queryColumns(client: DaemonClient, source: DatabaseSource, query: string): Promise<Column[]> {
  const wrapped = `SELECT 1 AS drover_catalog_row, q.* FROM (${query.replace(/[\s;]+$/, '')}) AS q LIMIT 1`;
  const rows = await catalogRows(client, source, wrapped, 'drover_catalog_row');
  const first = rows[0];
  if (!first) return [];
  return Object.entries(first)
    .filter(([name]) => name !== 'drover_catalog_row')
    .map(([name, value]) => ({ name, type: typeof value === 'string' ? 'text' : typeof value }));
}

/** Columns that probably hold text to analyse, by declared type. */
export function isTextColumn(column: Column): boolean {
  return /char|text|clob|string|json/i.test(column.type);
}
