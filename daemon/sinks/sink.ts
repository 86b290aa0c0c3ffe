// Where finished records are also written besides the ledger (JSONL, CSV, SQLite, Postgres).
// The ledger is the source of truth: a sink is fed from it in commit order and can always
// be brought up to date again after a crash.

export interface ResultRow {
  key: string;
  ordinal: number;
  status: 'done' | 'failed';
  /** The validated answer for `done`, null for `failed`. */
  output: Record<string, unknown> | null;
  error: string | null;
  /** e.g. `malformed`, `invalid_output`, `http_500`, `context_length`. */
  errorClass: string | null;
  attempts: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  model: string | null;
  /** ISO 8601. */
  updatedAt: string;
}

export interface ResultSink {
  readonly description: string;
  /**
   * Prepares the sink. `checkpoint` is what the last successful `write` returned in an
   * earlier run (null on the first): anything written after it is discarded, so a crash
   * between a write and its checkpoint leaves no duplicate or torn row.
   */
  open(checkpoint: string | null): Promise<void>;
  /** Writes rows (an upsert by key where the sink can) and makes them durable. */
  write(rows: readonly ResultRow[]): Promise<string | null>;
  close(): Promise<void>;
}

export class SinkError extends Error {
  override readonly name = 'SinkError';
}
