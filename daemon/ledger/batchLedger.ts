// Batch mode's part of the ledger: every submission (one uploaded file, one provider batch)
// and every record waiting for a batch or inside one, with the custom_id of its line. It
// shares the ledger's connection, so a join commits records' outcomes and takes them out of
// their batch in one transaction — a crash mid-join repeats only what was not committed.
import type Database from 'better-sqlite3';

export interface StagedRecord {
  key: string;
  ordinal: number;
  inputHash: string;
  /** The record's wire item, `{"id","input"}`, as the request builder packs it. */
  wireJson: string;
  tokens: number;
}

export interface BatchRecordRow extends StagedRecord {
  submissions: number;
  submissionId: number | null;
  customId: string | null;
  lastError: string | null;
}

/** `uploading` until the provider's batch exists; then the provider's status; `joined` at the end. */
export interface SubmissionRow {
  id: number;
  providerBatchId: string | null;
  inputFileId: string | null;
  status: string;
  lines: number;
  records: number;
  completed: number;
  failed: number;
  reservedUsd: number;
}

interface RecordDbRow {
  key: string;
  ordinal: number;
  input_hash: string;
  wire_json: string;
  tokens: number;
  submissions: number;
  submission_id: number | null;
  custom_id: string | null;
  last_error: string | null;
}

interface SubmissionDbRow {
  id: number;
  provider_batch_id: string | null;
  input_file_id: string | null;
  status: string;
  lines: number;
  records: number;
  completed: number;
  failed: number;
  reserved_usd: number;
}

const toRecord = (row: RecordDbRow): BatchRecordRow => ({
  key: row.key,
  ordinal: row.ordinal,
  inputHash: row.input_hash,
  wireJson: row.wire_json,
  tokens: row.tokens,
  submissions: row.submissions,
  submissionId: row.submission_id,
  customId: row.custom_id,
  lastError: row.last_error,
});

const toSubmission = (row: SubmissionDbRow): SubmissionRow => ({
  id: row.id,
  providerBatchId: row.provider_batch_id,
  inputFileId: row.input_file_id,
  status: row.status,
  lines: row.lines,
  records: row.records,
  completed: row.completed,
  failed: row.failed,
  reservedUsd: row.reserved_usd,
});

const now = () => new Date().toISOString();

/** custom_id names the line, not its records: keys can be long and a line holds many. */
export const customIdOf = (submissionId: number, line: number) => `drover-${submissionId}-${line}`;

export class BatchLedger {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      stage: db.prepare(
        `INSERT INTO batch_records (key, ordinal, input_hash, wire_json, tokens)
         VALUES (@key, @ordinal, @inputHash, @wireJson, @tokens)
         ON CONFLICT (key) DO UPDATE SET ordinal = excluded.ordinal, input_hash = excluded.input_hash,
           wire_json = excluded.wire_json, tokens = excluded.tokens, submissions = 0, last_error = NULL
         WHERE batch_records.submission_id IS NULL AND batch_records.input_hash IS NOT excluded.input_hash`,
      ),
      staged: db.prepare<[string], { input_hash: string }>('SELECT input_hash FROM batch_records WHERE key = ?'),
      waiting: db.prepare<[number, number, number, string, number], RecordDbRow>(
        `SELECT * FROM batch_records WHERE submission_id IS NULL AND submissions < ? AND (ordinal > ? OR (ordinal = ? AND key > ?))
         ORDER BY ordinal, key LIMIT ?`,
      ),
      eligible: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM batch_records WHERE submission_id IS NULL AND submissions < ?'),
      exhausted: db.prepare<[number, number], RecordDbRow>(
        'SELECT * FROM batch_records WHERE submission_id IS NULL AND submissions >= ? ORDER BY ordinal LIMIT ?',
      ),
      assign: db.prepare(
        'UPDATE batch_records SET submission_id = @submissionId, custom_id = @customId, submissions = submissions + 1 WHERE key = @key',
      ),
      line: db.prepare<[number, string], RecordDbRow>('SELECT * FROM batch_records WHERE submission_id = ? AND custom_id = ?'),
      finish: db.prepare('DELETE FROM batch_records WHERE key = ?'),
      release: db.prepare('UPDATE batch_records SET submission_id = NULL, custom_id = NULL, last_error = @error WHERE key = @key'),
      releaseRest: db.prepare(
        'UPDATE batch_records SET submission_id = NULL, custom_id = NULL, last_error = @error WHERE submission_id = @submissionId',
      ),
      unassign: db.prepare(
        'UPDATE batch_records SET submission_id = NULL, custom_id = NULL, submissions = max(0, submissions - 1) WHERE submission_id = ?',
      ),
      insertSubmission: db.prepare(
        `INSERT INTO batch_submissions (status, lines, records, reserved_usd, created_at, updated_at)
         VALUES ('uploading', 0, 0, 0, @now, @now)`,
      ),
      update: db.prepare(
        `UPDATE batch_submissions SET status = @status, completed = @completed, failed = @failed, updated_at = @now WHERE id = @id`,
      ),
    };
  }

  /** Adds records to wait for a batch; a record already staged with the same input stays as it is. */
  stage(records: readonly StagedRecord[]): void {
    this.db.transaction(() => {
      for (const record of records) this.statements.stage.run(record);
    })();
  }

  /** The input hash a record was staged with, if it is staged. */
  stagedHash(key: string): string | undefined {
    return this.statements.staged.get(key)?.input_hash;
  }

  /** Records waiting for a batch that may still be sent in one, in read order, after `after`. */
  waiting(maxSubmissions: number, after: { ordinal: number; key: string }, limit: number): BatchRecordRow[] {
    return this.statements.waiting.all(maxSubmissions, after.ordinal, after.ordinal, after.key, limit).map(toRecord);
  }

  /** How many records wait for a batch that may still be sent in one. */
  eligibleCount(maxSubmissions: number): number {
    return this.statements.eligible.get(maxSubmissions)?.n ?? 0;
  }

  /** Records waiting after `maxSubmissions` batches: they go through the online path. */
  exhausted(maxSubmissions: number, limit: number): BatchRecordRow[] {
    return this.statements.exhausted.all(maxSubmissions, limit).map(toRecord);
  }

  /**
   * Starts a submission, durably, before its file is written or uploaded: a crash then
   * leaves a submission to find (its batch), finish (create it) or undo (drop it).
   */
  openSubmission(): number {
    return Number(this.statements.insertSubmission.run({ now: now() }).lastInsertRowid);
  }

  /** Puts records in lines of a submission, as each line is written to its file. */
  assign(submissionId: number, lines: readonly { customId: string; keys: readonly string[] }[]): void {
    this.db.transaction(() => {
      for (const line of lines) {
        for (const key of line.keys) this.statements.assign.run({ submissionId, customId: line.customId, key });
      }
    })();
  }

  setSize(id: number, lines: number, records: number, reservedUsd: number): void {
    this.db
      .prepare('UPDATE batch_submissions SET lines = ?, records = ?, reserved_usd = ?, updated_at = ? WHERE id = ?')
      .run(lines, records, reservedUsd, now(), id);
  }

  setInputFile(id: number, inputFileId: string): void {
    this.db.prepare('UPDATE batch_submissions SET input_file_id = ?, updated_at = ? WHERE id = ?').run(inputFileId, now(), id);
  }

  setProviderBatch(id: number, providerBatchId: string, status: string): void {
    this.db
      .prepare('UPDATE batch_submissions SET provider_batch_id = ?, status = ?, updated_at = ? WHERE id = ?')
      .run(providerBatchId, status, now(), id);
  }

  setStatus(id: number, status: string, completed: number, failed: number): void {
    this.statements.update.run({ id, status, completed, failed, now: now() });
  }

  /** A submission whose batch was never created: its records wait again, their submission not counted. */
  dropSubmission(id: number): void {
    this.db.transaction(() => {
      this.statements.unassign.run(id);
      this.db.prepare('DELETE FROM batch_submissions WHERE id = ?').run(id);
    })();
  }

  openSubmissions(): SubmissionRow[] {
    return (this.db.prepare("SELECT * FROM batch_submissions WHERE status != 'joined' ORDER BY id").all() as SubmissionDbRow[]).map(toSubmission);
  }

  allSubmissions(): SubmissionRow[] {
    return (this.db.prepare('SELECT * FROM batch_submissions ORDER BY id').all() as SubmissionDbRow[]).map(toSubmission);
  }

  /** The records of one line of one submission (none when they were joined already). */
  lineRecords(submissionId: number, customId: string): BatchRecordRow[] {
    return this.statements.line.all(submissionId, customId).map(toRecord);
  }

  /** Takes finished records out of batch mode; call inside the transaction that commits their outcome. */
  finish(keys: readonly string[]): void {
    for (const key of keys) this.statements.finish.run(key);
  }

  /** Sends records back to waiting (their line failed); call inside the join's transaction. */
  release(keys: readonly string[], error: string): void {
    for (const key of keys) this.statements.release.run({ key, error });
  }

  /** Ends a join: records the batch did not answer (expired, cancelled) wait again. */
  closeSubmission(id: number, error: string): void {
    this.db.transaction(() => {
      this.statements.releaseRest.run({ submissionId: id, error });
      this.db.prepare("UPDATE batch_submissions SET status = 'joined', updated_at = ? WHERE id = ?").run(now(), id);
    })();
  }

  /** Records waiting for a batch or for the online path (counted on the partial index). */
  waitingCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM batch_records WHERE submission_id IS NULL').get() as { n: number }).n;
  }

  /** Runs `work` in one transaction on the ledger's connection (ledger commits inside nest). */
  atomically<T>(work: () => T): T {
    return this.db.transaction(work)();
  }
}
