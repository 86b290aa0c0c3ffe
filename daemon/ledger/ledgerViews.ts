// What each part of the engine needs of a ledger, so the same parts run on the SQLite ledger
// of one process (ledger.ts) and on the Postgres ledger that several workers share
// (daemon/sharedLedger/).
import type { AttemptedRecord, JobRow, LedgerRecord } from './ledger';

/** The executor's view: attempts are counted durably before a request goes out. */
export interface AttemptLedger {
  /**
   * Counts an attempt for each record. False when the records are no longer this worker's
   * to send (a shared ledger whose lease was lost): nothing was counted and nothing may go out.
   */
  markAttempted(records: readonly AttemptedRecord[]): boolean | Promise<boolean>;
  /** Takes back attempts that never reached the model. */
  unmarkAttempted(keys: readonly string[]): void;
}

/** The preparer's view: what is known of a record, and the content cache. */
export interface PreparerLedger {
  lookup(key: string): LedgerRecord | undefined;
  cached(inputHash: string): { output: Record<string, unknown>; model: string | null } | undefined;
}

/** The progress tracker's view: where the counts and totals start. */
export interface ProgressLedger {
  counts(): { done: number; failed: number };
  job(): JobRow | undefined;
}
