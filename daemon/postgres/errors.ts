// Turning node-postgres failures into what a user can act on: which ones are a lost
// connection worth retrying, and the server's message with its position mapped back to the
// user's own query text.
import { DatabaseError } from 'pg';

// Class 08 (connection exception), admin/crash shutdown and "starting up"/"shutting down",
// plus serialization failures and deadlocks, which a plain retry resolves.
const transientSqlStates = new Set(['08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '40001', '40P01']);
const transientSocketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// node-postgres reports a dropped socket with plain Errors that carry no code.
const transientMessages = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout expired',
  'timeout exceeded when trying to connect',
  // Our client-side query_timeout: the connection went silent (half-open); a new one will do.
  'Query read timeout',
];

export const queryCanceledSqlState = '57014';

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

export function sqlStateOf(error: unknown): string | undefined {
  return error instanceof DatabaseError ? error.code : undefined;
}

/** True when the connection (not the statement) failed, so the same work can simply run again. */
export function isTransient(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (transientSqlStates.has(code) || transientSocketCodes.has(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isTransient);
  return error instanceof Error && transientMessages.some((text) => error.message.startsWith(text));
}

export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Connection failures to several addresses arrive as an AggregateError with an empty message.
  if (error instanceof AggregateError && error.message === '') return error.errors.map(errorMessage).join('; ');
  return error.message;
}

function withDetailAndHint(head: string, error: DatabaseError): string {
  const parts = [head];
  if (error.detail) parts.push(`Detail: ${error.detail}`);
  if (error.hint) parts.push(`Hint: ${error.hint}`);
  return parts.join('. ');
}

/** The server's message with its detail and hint, which often name the fix. */
export function describeDatabaseError(error: unknown): string {
  return error instanceof DatabaseError ? withDetailAndHint(error.message, error) : errorMessage(error);
}

export interface TextPosition {
  line: number;
  column: number;
}

/**
 * Maps the server's error position (1-based, counted in characters of the statement sent)
 * to a line and column of the user's text, which starts `offset` characters into that
 * statement. Null when the position lies outside the user's text.
 */
export function positionInUserText(position: number, userText: string, offset: number): TextPosition | null {
  // Postgres counts characters, JavaScript strings count UTF-16 units: walk code points.
  const characters = Array.from(userText);
  const index = position - 1 - offset;
  if (index < 0 || index >= characters.length) return null;
  let line = 1;
  let column = 1;
  for (let i = 0; i < index; i += 1) {
    if (characters[i] === '\n') {
      line += 1;
      column = 1;
    } else {
      column += 1;
    }
  }
  return { line, column };
}

/** `syntax error at or near "FORM" (line 1, column 10)`, or the plain message when there is no position. */
export function describeQueryError(error: unknown, userText: string, offset: number): string {
  if (!(error instanceof DatabaseError)) return errorMessage(error);
  if (error.position === undefined) return describeDatabaseError(error);
  const at = positionInUserText(Number(error.position), userText, offset);
  const where = at === null ? 'at the end of the query' : `line ${at.line}, column ${at.column}`;
  return withDetailAndHint(`${error.message} (${where})`, error);
}
