// Postgres names: schema-qualified, checked against what Postgres can hold, quoted with
// the shared SQL helper.
import { maxIdentifierBytes, quoteIdentifier } from '../sql/identifiers';

export interface QualifiedName {
  schema: string | null;
  name: string;
}

export function quoteQualified({ schema, name }: QualifiedName): string {
  return schema === null ? quoteIdentifier(name) : `${quoteIdentifier(schema)}.${quoteIdentifier(name)}`;
}

/** For messages: `schema.table` as the user would write it. */
export function displayQualified({ schema, name }: QualifiedName): string {
  return schema === null ? name : `${schema}.${name}`;
}

/**
 * `schema.table` splits at the first dot; a table whose own name contains a dot can be read
 * with a `query` instead. Returns a problem description for names Postgres cannot hold.
 */
export function parseQualifiedName(text: string): QualifiedName | string {
  const dot = text.indexOf('.');
  const qualified: QualifiedName =
    dot === -1 ? { schema: null, name: text } : { schema: text.slice(0, dot), name: text.slice(dot + 1) };
  for (const part of [qualified.schema, qualified.name]) {
    if (part === null) continue;
    const problem = identifierProblem(part);
    if (problem !== null) return problem;
  }
  return qualified;
}

/** Why Postgres cannot hold this name as given, or null when it can. */
export function identifierProblem(name: string): string | null {
  if (name.length === 0) return 'a name part is empty (write "schema.table" or "table")';
  if (name.includes('\u0000')) return `"${name.replaceAll('\u0000', '\\0')}" contains a NUL character`;
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > maxIdentifierBytes) return `"${name}" is ${bytes} bytes long; Postgres names hold at most ${maxIdentifierBytes}`;
  return null;
}
