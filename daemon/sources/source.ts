// What every record source (SQLite, Postgres, files) gives the engine: records in a stable
// order, each with a key, and a cursor that lets a later run resume right after it.

/** Where to resume: after this record. JSON-serialisable, stored in the ledger. */
export interface ResumeCursor {
  /** 1-based position of the record in read order. */
  ordinal: number;
  /** The record's key value as read (SQL sources resume with `key > this`). */
  key: string | number | null;
}

export interface SourceRecord {
  kind: 'record';
  ordinal: number;
  /** The ledger key: the key column or field as text, or the line/row number. */
  key: string;
  cursor: ResumeCursor;
  fields: Record<string, unknown>;
  /** Line number in the file, for file sources. */
  line?: number;
}

/** A line or row that cannot become a record; it ends failed with this reason. */
export interface MalformedRecord {
  kind: 'malformed';
  ordinal: number;
  /** Unique and never equal to a well-formed record's key: `line:17`, `duplicate:42:7`, … */
  key: string;
  cursor: ResumeCursor;
  line?: number;
  reason: string;
}

export type SourceItem = SourceRecord | MalformedRecord;

export interface RecordCount {
  total: number;
  /** False when the total is an estimate (from a sample or the planner's statistics). */
  exact: boolean;
}

export interface ReadOptions {
  /** Resume strictly after this record. */
  after?: ResumeCursor;
  signal?: AbortSignal;
}

export interface RecordSource {
  /** For messages and logs, e.g. `sqlite data/feedback.db (table feedback, key id)`. */
  readonly description: string;
  count(signal?: AbortSignal): Promise<RecordCount>;
  /** Streams records in key (or file) order with constant memory. */
  read(options?: ReadOptions): AsyncIterable<SourceItem>;
  /**
   * A uniform random sample of about `size` records, for estimates over sources too large
   * to scan quickly. Absent when the source can only be read in order.
   */
  sample?(size: number, signal?: AbortSignal): AsyncIterable<SourceRecord>;
  close(): Promise<void>;
}

/** A problem the user must fix before anything is read (bad query, missing file, …). */
export class SourceError extends Error {
  override readonly name = 'SourceError';
}
