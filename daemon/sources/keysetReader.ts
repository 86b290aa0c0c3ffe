// Keyset pagination shared by the SQL sources: read `key >= last ORDER BY key LIMIT n`
// page after page, so no read holds a transaction for long and a resume starts right
// after the last finished key. Rows whose key is NULL or repeats an earlier key cannot be
// told apart on resume, so they become failed records with a clear reason instead of
// being lost or processed twice.
import type { ResumeCursor, SourceItem } from './source';

export type KeyValue = string | number;
export type Row = Record<string, unknown>;

export interface KeysetQueries {
  /** Rows whose key is NULL, `offset` rows in; an empty array when there are no more. */
  nullKeyRows(offset: number, limit: number, signal?: AbortSignal): Promise<Row[]>;
  /**
   * Up to `limit` rows whose key is NOT NULL and > `after` (>= when `inclusive`; every
   * non-NULL key when `after` is undefined), in key order.
   */
  page(after: KeyValue | undefined, inclusive: boolean, limit: number, signal?: AbortSignal): Promise<Row[]>;
}

export interface KeysetReadOptions {
  keyColumn: string;
  pageSize: number;
  after?: ResumeCursor;
  signal?: AbortSignal;
}

/** Turns a driver's key value into something JSON can carry and SQL can compare again. */
export function keyValueOf(value: unknown): KeyValue | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return JSON.stringify(value);
}

function preview(row: Row): string {
  const text = JSON.stringify(row, (_name, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export async function* keysetRead(queries: KeysetQueries, options: KeysetReadOptions): AsyncGenerator<SourceItem> {
  const { keyColumn, pageSize, after, signal } = options;
  let ordinal = after?.ordinal ?? 0;

  // NULL keys sort before every other key, so they are reported only on a fresh read.
  if (after === undefined || after.key === null) {
    // Resuming inside the NULL rows: they are read by offset, and every one before the cursor was handed out.
    let offset = after?.key === null ? after.ordinal : 0;
    for (;;) {
      const rows = await queries.nullKeyRows(offset, pageSize, signal);
      for (const row of rows) {
        ordinal += 1;
        offset += 1;
        yield {
          kind: 'malformed',
          ordinal,
          key: `null-key:${offset}`,
          cursor: { ordinal, key: null },
          reason: `key column "${keyColumn}" is NULL, so the row cannot be tracked; give it a key or filter it out in the query (row: ${preview(row)})`,
        };
      }
      if (rows.length < pageSize) break;
    }
  }

  let lastKey: KeyValue | undefined = after?.key ?? undefined;
  // How many rows with key == lastKey were already handed out (the record and its duplicates).
  let seenAtLastKey = lastKey === undefined ? 0 : 1;
  for (;;) {
    signal?.throwIfAborted();
    const limit = pageSize + seenAtLastKey;
    const rows = await queries.page(lastKey, lastKey !== undefined, limit, signal);
    let skip = seenAtLastKey;
    for (const row of rows) {
      const keyValue = keyValueOf(row[keyColumn]);
      if (keyValue === null) continue; // already reported in the NULL phase
      const sameAsLast = lastKey !== undefined && String(keyValue) === String(lastKey);
      if (sameAsLast && skip > 0) {
        skip -= 1;
        continue;
      }
      ordinal += 1;
      if (sameAsLast) {
        seenAtLastKey += 1;
        yield {
          kind: 'malformed',
          ordinal,
          key: `duplicate:${String(keyValue)}#${seenAtLastKey}`,
          cursor: { ordinal, key: keyValue },
          reason: `key ${JSON.stringify(keyValue)} in column "${keyColumn}" appears more than once (occurrence ${seenAtLastKey}); keys must be unique (row: ${preview(row)})`,
        };
        continue;
      }
      lastKey = keyValue;
      seenAtLastKey = 1;
      skip = 0;
      yield { kind: 'record', ordinal, key: String(keyValue), cursor: { ordinal, key: keyValue }, fields: row };
    }
    if (rows.length < limit) return;
  }
}
