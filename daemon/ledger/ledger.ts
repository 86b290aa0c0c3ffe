// The durable ledger of one job: the job's state and one row per record (key, status,
// attempts, output, error, tokens, cost). SQLite in WAL mode; every change that matters for
// correctness is committed in a transaction before the engine acts on it, so a crash can
// only repeat an unfinished request, never lose or double a finished record.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultRow } from '../sinks/sink';
import type { ResumeCursor } from '../sources/source';
import { BatchLedger } from './batchLedger';
import type { AttemptLedger, PreparerLedger, ProgressLedger } from './ledgerViews';
import { migrate } from './schema';

export type JobStatus = 'running' | 'paused' | 'done' | 'cancelled';
export type RecordStatus = 'pending' | 'done' | 'failed';

export interface JobTotals {
  requests: number;
  retries: number;
  rateLimited: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface JobRow extends JobTotals {
  name: string;
  specJson: string;
  configHash: string;
  status: JobStatus;
  statusReason: string | null;
  createdAt: string;
  updatedAt: string;
  watermark: ResumeCursor | null;
  watermarkConfigHash: string | null;
  sinkSeq: number;
  sinkCheckpoint: string | null;
  total: number | null;
  totalExact: boolean;
  elapsedMs: number;
}

export interface LedgerRecord {
  status: RecordStatus;
  attempts: number;
  inputHash: string | null;
}

export interface AttemptedRecord {
  key: string;
  ordinal: number;
  inputHash: string;
}

/** One record's outcome from a response (or from the source, for malformed items). */
export interface RecordUpdate {
  key: string;
  ordinal: number;
  status: RecordStatus;
  inputHash?: string | null;
  output?: Record<string, unknown> | null;
  error?: string | null;
  errorClass?: string | null;
  promptTokens?: number;
  completionTokens?: number;
  costUsd?: number;
  model?: string | null;
  cached?: boolean;
}

export interface ErrorClassCount {
  errorClass: string;
  count: number;
  sampleKey: string | null;
  sampleMessage: string;
  lastAt: string;
}

interface JobDbRow {
  name: string;
  spec_json: string;
  config_hash: string;
  status: JobStatus;
  status_reason: string | null;
  created_at: string;
  updated_at: string;
  watermark_json: string | null;
  watermark_config_hash: string | null;
  sink_seq: number;
  sink_checkpoint: string | null;
  total: number | null;
  total_exact: number;
  elapsed_ms: number;
  requests: number;
  retries: number;
  rate_limited: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

interface RecordDbRow {
  key: string;
  ordinal: number;
  status: 'done' | 'failed';
  attempts: number;
  output: string | null;
  error: string | null;
  error_class: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  model: string | null;
  updated_at: string;
  seq: number;
}

export function jobDirectory(stateDir: string, jobName: string): string {
  return join(stateDir, 'jobs', jobName);
}

export function ledgerPath(stateDir: string, jobName: string): string {
  return join(jobDirectory(stateDir, jobName), 'ledger.sqlite');
}

const now = () => new Date().toISOString();

function toResultRow(row: RecordDbRow): ResultRow & { seq: number } {
  return {
    key: row.key,
    ordinal: row.ordinal,
    status: row.status,
    output: row.output === null ? null : (JSON.parse(row.output) as Record<string, unknown>),
    error: row.error,
    errorClass: row.error_class,
    attempts: row.attempts,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    costUsd: row.cost_usd,
    model: row.model,
    updatedAt: row.updated_at,
    seq: row.seq,
  };
}

export class Ledger implements AttemptLedger, PreparerLedger, ProgressLedger {
  private readonly db: Database.Database;
  private nextSeq: number;
  private readonly statements;
  private commitScheduled = false;
  private commitWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private commitError: Error | null = null;
  /** Runs a change in a savepoint of the open transaction; built once, as building one per call costs more than the change. */
  private readonly atomically: (change: () => unknown) => unknown;

  private constructor(readonly path: string, readonly: boolean) {
    this.db = new Database(path, readonly ? { readonly: true, fileMustExist: true } : {});
    this.db.pragma('busy_timeout = 5000');
    if (!readonly) {
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a process crash; only an OS crash can lose the last commits.
      this.db.pragma('synchronous = NORMAL');
      // A busy run commits thousands of small transactions a second; checkpointing the WAL
      // into the database less often (every ~40 MB instead of ~4 MB) makes each commit cheaper.
      this.db.pragma('wal_autocheckpoint = 10000');
      migrate(this.db);
    }
    this.statements = {
      lookup: this.db.prepare<[string], { status: RecordStatus; attempts: number; input_hash: string | null }>(
        'SELECT status, attempts, input_hash FROM records WHERE key = ?',
      ),
      cached: this.db.prepare<[string], { output: string; model: string | null }>(
        "SELECT output, model FROM records WHERE input_hash = ? AND status = 'done' LIMIT 1",
      ),
      // Positional parameters throughout the hot statements: binding by name costs
      // better-sqlite3 several microseconds per statement, more than the insert itself.
      attempt: this.db.prepare<[key: string, ordinal: number, inputHash: string, createdAt: string, updatedAt: string]>(
        `INSERT INTO records (key, ordinal, status, attempts, input_hash, created_at, updated_at)
         VALUES (?, ?, 'pending', 1, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET
           attempts = CASE WHEN records.input_hash IS excluded.input_hash THEN records.attempts + 1 ELSE 1 END,
           status = 'pending', ordinal = excluded.ordinal, input_hash = excluded.input_hash, updated_at = excluded.updated_at`,
      ),
      touchJob: this.db.prepare('UPDATE job SET updated_at = ? WHERE id = 1'),
      unattempt: this.db.prepare('UPDATE records SET attempts = max(0, attempts - 1) WHERE key = ?'),
      update: this.db.prepare<
        [
          key: string, ordinal: number, status: RecordStatus, inputHash: string | null, output: string | null,
          error: string | null, errorClass: string | null, promptTokens: number, completionTokens: number,
          costUsd: number, model: string | null, cached: number, createdAt: string, updatedAt: string, seq: number | null,
        ]
      >(
        `INSERT INTO records (key, ordinal, status, attempts, input_hash, output, error, error_class,
                              prompt_tokens, completion_tokens, cost_usd, model, cached, created_at, updated_at, seq)
         VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET
           status = excluded.status,
           ordinal = excluded.ordinal,
           input_hash = coalesce(excluded.input_hash, records.input_hash),
           output = excluded.output,
           error = excluded.error,
           error_class = excluded.error_class,
           prompt_tokens = records.prompt_tokens + excluded.prompt_tokens,
           completion_tokens = records.completion_tokens + excluded.completion_tokens,
           cost_usd = records.cost_usd + excluded.cost_usd,
           model = coalesce(excluded.model, records.model),
           cached = excluded.cached,
           updated_at = excluded.updated_at,
           seq = coalesce(excluded.seq, records.seq)`,
      ),
      addTotals: this.db.prepare(
        `UPDATE job SET requests = requests + @requests, retries = retries + @retries,
           rate_limited = rate_limited + @rateLimited, prompt_tokens = prompt_tokens + @promptTokens,
           completion_tokens = completion_tokens + @completionTokens, cost_usd = cost_usd + @costUsd,
           updated_at = @now WHERE id = 1`,
      ),
      watermark: this.db.prepare(
        'UPDATE job SET watermark_json = @watermark, watermark_config_hash = config_hash WHERE id = 1',
      ),
      error: this.db.prepare(
        `INSERT INTO errors (error_class, count, sample_key, sample_message, last_at) VALUES (@errorClass, @count, @key, @message, @now)
         ON CONFLICT (error_class) DO UPDATE SET count = errors.count + excluded.count,
           sample_key = coalesce(excluded.sample_key, errors.sample_key), sample_message = excluded.sample_message,
           last_at = excluded.last_at`,
      ),
      resultsAfter: this.db.prepare<[number, number], RecordDbRow>(
        "SELECT * FROM records WHERE seq > ? AND status IN ('done', 'failed') ORDER BY seq LIMIT ?",
      ),
    };
    this.atomically = this.db.transaction((change: () => unknown) => change());
    this.nextSeq = ((this.db.prepare('SELECT max(seq) AS seq FROM records').get() as { seq: number | null }).seq ?? 0) + 1;
  }

  static open(stateDir: string, jobName: string): Ledger {
    mkdirSync(jobDirectory(stateDir, jobName), { recursive: true, mode: 0o700 });
    return new Ledger(ledgerPath(stateDir, jobName), false);
  }

  /** For readers (export, job listing) that must not change anything. */
  static openReadOnly(stateDir: string, jobName: string): Ledger {
    return new Ledger(ledgerPath(stateDir, jobName), true);
  }

  job(): JobRow | undefined {
    const row = this.db.prepare('SELECT * FROM job WHERE id = 1').get() as JobDbRow | undefined;
    if (!row) return undefined;
    return {
      name: row.name,
      specJson: row.spec_json,
      configHash: row.config_hash,
      status: row.status,
      statusReason: row.status_reason,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      watermark: row.watermark_json === null ? null : (JSON.parse(row.watermark_json) as ResumeCursor),
      watermarkConfigHash: row.watermark_config_hash,
      sinkSeq: row.sink_seq,
      sinkCheckpoint: row.sink_checkpoint,
      total: row.total,
      totalExact: row.total_exact === 1,
      elapsedMs: row.elapsed_ms,
      requests: row.requests,
      retries: row.retries,
      rateLimited: row.rate_limited,
      promptTokens: row.prompt_tokens,
      completionTokens: row.completion_tokens,
      costUsd: row.cost_usd,
    };
  }

  /** Creates the job row, or records the spec this run uses. */
  upsertJob(name: string, specJson: string, configHash: string): void {
    this.write(() =>
      this.db.prepare(
        `INSERT INTO job (id, name, spec_json, config_hash, status, created_at, updated_at)
         VALUES (1, @name, @specJson, @configHash, 'running', @now, @now)
         ON CONFLICT (id) DO UPDATE SET spec_json = excluded.spec_json, config_hash = excluded.config_hash,
           updated_at = excluded.updated_at`,
      )
      .run({ name, specJson, configHash, now: now() }),
    );
  }

  setStatus(status: JobStatus, reason: string | null): void {
    this.write(() => this.db.prepare('UPDATE job SET status = ?, status_reason = ?, updated_at = ? WHERE id = 1').run(status, reason, now()));
  }

  setTotal(total: number, exact: boolean): void {
    this.write(() => this.db.prepare('UPDATE job SET total = ?, total_exact = ? WHERE id = 1').run(total, exact ? 1 : 0));
  }

  addElapsed(ms: number): void {
    this.write(() => this.db.prepare('UPDATE job SET elapsed_ms = elapsed_ms + ? WHERE id = 1').run(Math.round(ms)));
  }

  /** Forget where the last run stopped: the next run reads the source from the start. */
  clearWatermark(): void {
    this.write(() => this.db.prepare('UPDATE job SET watermark_json = NULL, watermark_config_hash = NULL WHERE id = 1').run());
  }

  lookup(key: string): LedgerRecord | undefined {
    const row = this.statements.lookup.get(key);
    return row && { status: row.status, attempts: row.attempts, inputHash: row.input_hash };
  }

  /** A finished answer for the same input, prompt, schema and model (the content cache). */
  cached(inputHash: string): { output: Record<string, unknown>; model: string | null } | undefined {
    const row = this.statements.cached.get(inputHash);
    return row && { output: JSON.parse(row.output) as Record<string, unknown>, model: row.model };
  }

  /**
   * Counts an attempt for each record, and resolves once the count is on disk, so the
   * request can go out with no crash able to undercount it. The job's updated_at becomes
   * the time of the last request sent, which a resumed run's rate limiter starts from.
   */
  async markAttempted(records: readonly AttemptedRecord[]): Promise<boolean> {
    const timestamp = now();
    this.write(() => {
      for (const record of records) this.statements.attempt.run(record.key, record.ordinal, record.inputHash, timestamp, timestamp);
      this.statements.touchJob.run(timestamp);
    });
    await this.durable();
    // One process owns this ledger (the run lock): its records are always its own to send.
    return true;
  }

  /** Takes back an attempt that never reached the model (the job stopped first). */
  unmarkAttempted(keys: readonly string[]): void {
    this.write(() => {
      for (const key of keys) this.statements.unattempt.run(key);
    });
  }

  /**
   * Records outcomes, totals, errors and the resume point in one transaction. Finished
   * records get the next commit sequence numbers, which the sinks follow.
   */
  commit(change: {
    updates?: readonly RecordUpdate[];
    totals?: Partial<JobTotals>;
    errors?: readonly { errorClass: string; key: string | null; message: string; count?: number }[];
    watermark?: ResumeCursor | null;
  }): void {
    const timestamp = now();
    this.write(() => {
      for (const update of change.updates ?? []) {
        const finished = update.status !== 'pending';
        this.statements.update.run(
          update.key,
          update.ordinal,
          update.status,
          update.inputHash ?? null,
          update.output === undefined || update.output === null ? null : JSON.stringify(update.output),
          update.error ?? null,
          update.errorClass ?? null,
          update.promptTokens ?? 0,
          update.completionTokens ?? 0,
          update.costUsd ?? 0,
          update.model ?? null,
          update.cached ? 1 : 0,
          timestamp,
          timestamp,
          finished ? this.nextSeq++ : null,
        );
      }
      if (change.totals) {
        const totals = change.totals;
        this.statements.addTotals.run({
          requests: totals.requests ?? 0,
          retries: totals.retries ?? 0,
          rateLimited: totals.rateLimited ?? 0,
          promptTokens: totals.promptTokens ?? 0,
          completionTokens: totals.completionTokens ?? 0,
          costUsd: totals.costUsd ?? 0,
          now: timestamp,
        });
      }
      for (const error of change.errors ?? []) {
        this.statements.error.run({ ...error, count: error.count ?? 1, now: timestamp });
      }
      if (change.watermark !== undefined) {
        this.statements.watermark.run({ watermark: change.watermark === null ? null : JSON.stringify(change.watermark) });
      }
    });
  }

  counts(): { done: number; failed: number; pending: number } {
    const rows = this.db.prepare('SELECT status, count(*) AS n FROM records GROUP BY status').all() as {
      status: RecordStatus;
      n: number;
    }[];
    const count = (status: RecordStatus) => rows.find((row) => row.status === status)?.n ?? 0;
    return { done: count('done'), failed: count('failed'), pending: count('pending') };
  }

  errorsByClass(): ErrorClassCount[] {
    return (
      this.db.prepare('SELECT * FROM errors ORDER BY count DESC').all() as {
        error_class: string;
        count: number;
        sample_key: string | null;
        sample_message: string;
        last_at: string;
      }[]
    ).map((row) => ({
      errorClass: row.error_class,
      count: row.count,
      sampleKey: row.sample_key,
      sampleMessage: row.sample_message,
      lastAt: row.last_at,
    }));
  }

  /** Finished records committed after `seq`, in commit order (what a sink has not seen). */
  resultsAfter(seq: number, limit: number): (ResultRow & { seq: number })[] {
    return this.statements.resultsAfter.all(seq, limit).map(toResultRow);
  }

  /** Finished records in key order for export and result pages. */
  *finished(options: { status?: 'done' | 'failed'; offset?: number; limit?: number } = {}): Generator<ResultRow> {
    const statuses = options.status ? `'${options.status}'` : "'done', 'failed'";
    const statement = this.db.prepare<[number, number], RecordDbRow>(
      `SELECT * FROM records WHERE status IN (${statuses}) ORDER BY ordinal, key LIMIT ? OFFSET ?`,
    );
    for (const row of statement.iterate(options.limit ?? -1, options.offset ?? 0)) yield toResultRow(row);
  }

  saveSinkCheckpoint(seq: number, checkpoint: string | null): void {
    this.write(() => this.db.prepare('UPDATE job SET sink_seq = ?, sink_checkpoint = ? WHERE id = 1').run(seq, checkpoint));
  }

  /** Batch mode's tables, on this connection so that a join commits with the records' outcomes. */
  batches(): BatchLedger {
    return new BatchLedger(this.db);
  }

  integrityCheck(): string {
    return (this.db.pragma('integrity_check', { simple: true }) as string) ?? 'unknown';
  }

  /** Resolves once every change made so far is committed to disk. */
  durable(): Promise<void> {
    if (this.commitError !== null) return Promise.reject(this.commitError);
    if (!this.db.inTransaction) return Promise.resolve();
    return new Promise((resolve, reject) => this.commitWaiters.push({ resolve, reject }));
  }

  close(): void {
    if (!this.db.open) return;
    this.commitNow();
    this.db.close();
  }

  /**
   * Group commit: every change joins one open transaction that is committed when the
   * event loop next turns, so the dozens of small changes a busy run makes per turn
   * (attempts counted, outcomes recorded) cost one commit between them, not one each.
   * Each change is still all-or-nothing (a savepoint inside), and a crash loses at most
   * the changes of the current turn — as if it had struck a moment earlier.
   */
  private write(change: () => unknown): void {
    if (this.commitError !== null) throw this.commitError;
    if (!this.db.inTransaction) this.db.exec('BEGIN IMMEDIATE');
    this.atomically(change);
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => this.commitNow());
  }

  private commitNow(): void {
    this.commitScheduled = false;
    const waiters = this.commitWaiters;
    this.commitWaiters = [];
    try {
      if (this.db.inTransaction) this.db.exec('COMMIT');
    } catch (error) {
      // What the transaction held is lost, as in a crash: a later write or a waiter sees why.
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.commitError = error instanceof Error ? error : new Error(String(error));
      for (const waiter of waiters) waiter.reject(this.commitError);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }
}
