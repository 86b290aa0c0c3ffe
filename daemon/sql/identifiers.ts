// Identifiers reach SQL text only through these helpers (SQLite and Postgres quote alike):
// always double-quoted, so a name from a spec (`Odd "Name"; --`) is one identifier and
// never a piece of SQL.

/** Postgres silently truncates longer names (NAMEDATALEN - 1); SQLite takes them, but one rule serves both. */
export const maxIdentifierBytes = 63;

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A job name (letters, digits, `_`, `-`, `.`) made into a plain lowercase identifier that fits. */
export function identifierFromJobName(jobName: string, suffix: string): string {
  const base = `${jobName}${suffix}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const safeStart = /^[a-z_]/.test(base) ? base : `_${base}`;
  // All ASCII by now, so characters are bytes.
  return safeStart.slice(0, maxIdentifierBytes);
}

/** The results table a table sink writes when the spec names none: `<job name>_results`. */
export const defaultResultsTable = (jobName: string) => identifierFromJobName(jobName, '_results');
