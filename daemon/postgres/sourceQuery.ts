// The user's SELECT, as it is sent: always wrapped as a subquery (which the grammar only
// accepts for a SELECT) and always through the extended query protocol (which refuses more
// than one statement), inside a READ ONLY transaction. Three independent locks on the
// same door: nothing a source runs can change data.
import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';

// node-postgres picks the simple protocol (which runs `…; COMMIT; DELETE …`) for a query
// without parameters unless told otherwise; @types/pg does not declare the option.
interface ExtendedQueryConfig extends QueryConfig {
  queryMode: 'extended';
}

/** A statement around the user's SELECT, and where the SELECT starts in it (for error positions). */
export interface WrappedSelect {
  text: string;
  userOffset: number;
}

/** `<head>(<select>) AS drover_source<rest>`; the newline ends a trailing `--` comment. */
export function wrapSelect(select: string, rest: string, head = 'SELECT * FROM '): WrappedSelect {
  return { text: `${head}(\n${select}\n) AS drover_source${rest}`, userOffset: head.length + 2 };
}

export function runSelect<Row extends QueryResultRow>(
  client: PoolClient,
  statement: WrappedSelect,
  values: unknown[],
): Promise<QueryResult<Row>> {
  const config: ExtendedQueryConfig = { text: statement.text, values, queryMode: 'extended' };
  return client.query<Row>(config);
}

/** A trailing `;` is harmless habit, not a second statement. */
export function withoutTrailingSemicolons(query: string): string {
  return query.replace(/[\s;]+$/, '');
}

/** The first word of the statement, past comments and opening parentheses. */
export function leadingKeyword(query: string): string {
  const rest = query.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/, '');
  return /^[A-Za-z_]+/.exec(rest)?.[0].toUpperCase() ?? rest.slice(0, 20);
}

const selectKeywords = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE']);

/** A message for a statement that is plainly not a SELECT, or null. */
export function notASelect(query: string): string | null {
  const keyword = leadingKeyword(query);
  if (selectKeywords.has(keyword)) return null;
  const start = query.trim().slice(0, 60);
  return (
    `source.query must be exactly one SELECT statement (WITH … SELECT is fine), but it starts with "${keyword}": ` +
    `${JSON.stringify(start)}. Drover only reads from the source; write results through a sink.`
  );
}
