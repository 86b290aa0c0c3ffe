// Joins a finished batch back into the ledger: each result line is matched to its records
// by custom_id, its answer read and validated by the online path's own code, and every
// record ends done — or waits for another batch when its line (or its item) failed. Lines
// are committed in chunks, each chunk in one transaction with the records leaving the
// batch, so a crash mid-join repeats only the lines not yet committed.
import type { BatchLedger, BatchRecordRow, SubmissionRow } from '../ledger/batchLedger';
import type { Ledger, JobTotals, RecordUpdate } from '../ledger/ledger';
import { costUsd } from '../cost/prices';
import { parseBatchAnswer } from '../pipeline/answerParser';
import type { ErrorNote } from '../pipeline/batchExecutor';
import type { OutputValidator } from '../pipeline/outputSchema';
import type { ProgressTracker } from '../pipeline/progressTracker';
import { apportion } from '../pipeline/usageShares';
import type { Usage } from '../provider/providerApi';
import type { Price } from '../spec/jobSpec';
import type { BatchApi, BatchResultLine } from './batchApi';

export interface JoinContext {
  ledger: Ledger;
  batches: BatchLedger;
  validator: OutputValidator;
  /** The batch price (a share of the online one). */
  price: Price | undefined;
  model: string;
  progress: ProgressTracker;
  reportError(note: ErrorNote): void;
}

export interface JoinTally {
  done: number;
  /** Records sent back to wait for another batch (or the online path). */
  again: number;
  costUsd: number;
}

const linesPerCommit = 200;

interface LineResult {
  updates: RecordUpdate[];
  done: string[];
  again: string[];
  errors: ErrorNote[];
  totals: Partial<JobTotals>;
}

export class BatchJoiner {
  constructor(private readonly context: JoinContext) {}

  async join(api: BatchApi, submission: SubmissionRow, signal: AbortSignal): Promise<JoinTally> {
    const tally: JoinTally = { done: 0, again: 0, costUsd: 0 };
    if (!submission.providerBatchId) throw new Error(`submission ${submission.id} has no batch to join`);
    let chunk: BatchResultLine[] = [];
    for await (const line of api.results(submission.providerBatchId, signal)) {
      chunk.push(line);
      if (chunk.length >= linesPerCommit) {
        this.commit(submission.id, chunk, tally);
        chunk = [];
      }
    }
    this.commit(submission.id, chunk, tally);
    const before = this.context.batches.waitingCount();
    this.context.batches.closeSubmission(submission.id, `batch ${submission.providerBatchId} ended (${submission.status}) without answering this record`);
    tally.again += this.context.batches.waitingCount() - before;
    return tally;
  }

  private commit(submissionId: number, lines: readonly BatchResultLine[], tally: JoinTally): void {
    if (lines.length === 0) return;
    const { ledger, batches, progress } = this.context;
    const all: LineResult = { updates: [], done: [], again: [], errors: [], totals: {} };
    batches.atomically(() => {
      for (const line of lines) {
        const records = batches.lineRecords(submissionId, line.customId);
        if (records.length === 0) continue; // joined before a crash, or not ours
        const result = this.lineResult(line, records);
        all.updates.push(...result.updates);
        all.errors.push(...result.errors);
        for (const name of Object.keys(result.totals) as (keyof JobTotals)[]) all.totals[name] = (all.totals[name] ?? 0) + (result.totals[name] ?? 0);
        batches.finish(result.done);
        const reason = result.errors[0]?.message ?? 'no valid answer';
        batches.release(result.again, reason);
        all.done.push(...result.done);
        all.again.push(...result.again);
      }
      ledger.commit({ updates: all.updates, totals: all.totals, errors: all.errors.map(({ errorClass, key, message }) => ({ errorClass, key, message })) });
    });
    progress.record(all.updates, all.totals, true);
    for (const error of all.errors) this.context.reportError(error);
    tally.done += all.done.length;
    tally.again += all.again.length;
    tally.costUsd += all.totals.costUsd ?? 0;
  }

  private lineResult(line: BatchResultLine, records: readonly BatchRecordRow[]): LineResult {
    const { outcome } = line;
    const shares = this.shares(records, outcome.usage);
    const spent = shares.reduce((sum, share) => sum + share.costUsd, 0);
    const result: LineResult = {
      updates: [],
      done: [],
      again: [],
      errors: [],
      totals: outcome.usage
        ? { requests: 1, promptTokens: outcome.usage.promptTokens, completionTokens: outcome.usage.completionTokens, costUsd: spent }
        : {},
    };
    const sendAgain = (record: BatchRecordRow, index: number, errorClass: string, message: string, key: string | null) => {
      const share = shares[index];
      if (share.promptTokens > 0 || share.completionTokens > 0) result.updates.push({ ...base(record), status: 'pending', ...share });
      result.again.push(record.key);
      if (key !== null || index === 0) result.errors.push({ errorClass, key, message, outcome: 'retried' });
    };
    if (!outcome.ok) {
      records.forEach((record, index) => sendAgain(record, index, outcome.errorClass, `batch line ${line.customId}: ${outcome.message}`, null));
      result.totals.retries = 1;
      return result;
    }
    const verdict = parseBatchAnswer(outcome.content, records.map((record) => record.key), this.context.validator);
    if (!verdict.ok) {
      records.forEach((record, index) => sendAgain(record, index, verdict.errorClass, `batch line ${line.customId}: ${verdict.reason}`, null));
      result.totals.retries = 1;
      return result;
    }
    verdict.records.forEach((verdictOf, index) => {
      const record = records[index];
      if (verdictOf.ok) {
        result.updates.push({ ...base(record), status: 'done', output: verdictOf.output, model: this.context.model, error: null, errorClass: null, ...shares[index] });
        result.done.push(record.key);
      } else {
        sendAgain(record, index, verdictOf.errorClass, verdictOf.reason, record.key);
      }
    });
    if (result.again.length > 0) result.totals.retries = 1;
    return result;
  }

  private shares(records: readonly BatchRecordRow[], usage: Usage | null): { promptTokens: number; completionTokens: number; costUsd: number }[] {
    if (!usage) return records.map(() => ({ promptTokens: 0, completionTokens: 0, costUsd: 0 }));
    const prompt = apportion(usage.promptTokens, records.map((record) => record.tokens));
    const completion = apportion(usage.completionTokens, records.map(() => 1));
    return records.map((_, index) => {
      const promptTokens = prompt[index] ?? 0;
      const completionTokens = completion[index] ?? 0;
      return { promptTokens, completionTokens, costUsd: costUsd(this.context.price, promptTokens, completionTokens) };
    });
  }
}

function base(record: BatchRecordRow): Pick<RecordUpdate, 'key' | 'ordinal' | 'inputHash'> {
  return { key: record.key, ordinal: record.ordinal, inputHash: record.inputHash };
}
