// Identifiers reach SQL text only through these helpers: always double-quoted, so a name
// from a spec (`Odd "Name"; --`) is one identifier and never a piece of SQL.

/** Postgres silently truncates longer names (NAMEDATALEN - 1), which would break lookups. */
export const maxIdentifierBytes = 63;

export interface QualifiedName {
  schema: string | null;
  name: string;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
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

/** A job name (letters, digits, `_`, `-`, `.`) made into a plain lowercase identifier that fits. */
export function identifierFromJobName(jobName: string, suffix: string): string {
  const base = `${jobName}${suffix}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const safeStart = /^[a-z_]/.test(base) ? base : `_${base}`;
  // All ASCII by now, so characters are bytes.
  return safeStart.slice(0, maxIdentifierBytes);
}
