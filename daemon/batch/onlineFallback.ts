// The last resort of batch mode: records whose line failed or expired in `maxSubmissions`
// batches go through the online path — the same executor, admission, retries and splits
// as an online job — and leave batch mode when they finish.
import pLimit from 'p-limit';
import { setTimeout as delay } from 'node:timers/promises';
import type { BatchLedger, BatchRecordRow } from '../ledger/batchLedger';
import type { Ledger } from '../ledger/ledger';
import type { BatchExecutor, Disposition, ErrorNote, StopRequest } from '../pipeline/batchExecutor';
import { Packer } from '../pipeline/packer';
import type { ProgressTracker } from '../pipeline/progressTracker';
import type { PendingRecord } from '../pipeline/recordPreparer';

export interface OnlineFallbackParts {
  ledger: Ledger;
  batches: BatchLedger;
  executor: BatchExecutor;
  progress: ProgressTracker;
  concurrency: number;
  maxSubmissions: number;
  packing: { recordsPerRequest: number; maxPromptTokens: number; overheadTokens: number };
  stopSignal: AbortSignal;
  stopping(): StopRequest | null;
  reportError(note: ErrorNote): void;
  requestStop(stop: StopRequest): void;
}

const recordsPerRound = 10_000;

export class OnlineFallback {
  private readonly limit;

  constructor(private readonly parts: OnlineFallbackParts) {
    this.limit = pLimit(parts.concurrency);
  }

  /** Sends one round of exhausted records; resolves when each has finished or the job stops. */
  async runRound(): Promise<number> {
    const rows = this.parts.batches.exhausted(this.parts.maxSubmissions, recordsPerRound);
    const packer = new Packer<PendingRecord>(this.parts.packing);
    const sends: Promise<void>[] = [];
    for (const row of rows) {
      for (const batch of packer.add(this.pending(row))) sends.push(this.send(batch));
    }
    const rest = packer.flush();
    if (rest) sends.push(this.send(rest));
    await Promise.all(sends);
    return rows.length;
  }

  private pending(row: BatchRecordRow): PendingRecord {
    const known = this.parts.ledger.lookup(row.key);
    const attempts = known && known.inputHash === row.inputHash && known.status === 'pending' ? known.attempts : 0;
    return {
      sequence: 0,
      key: row.key,
      ordinal: row.ordinal,
      cursor: { ordinal: row.ordinal, key: row.key },
      inputHash: row.inputHash,
      wire: { key: row.key, json: row.wireJson, tokens: row.tokens },
      attempts,
      outputBoost: 1,
    };
  }

  private async send(batch: PendingRecord[]): Promise<void> {
    if (this.parts.stopping()) return;
    const disposition = await this.limit(() => this.parts.executor.execute(batch));
    this.apply(disposition);
    await Promise.all(
      disposition.retry.map(async ({ batch: again, delayMs }) => {
        try {
          if (delayMs > 0) await delay(delayMs, undefined, { signal: this.parts.stopSignal });
        } catch {
          return; // the job stopped: the records stay waiting for the next run
        }
        await this.send(again);
      }),
    );
  }

  private apply(disposition: Disposition): void {
    const { ledger, batches, progress } = this.parts;
    batches.atomically(() => {
      ledger.commit({
        updates: disposition.updates,
        totals: disposition.totals,
        errors: disposition.errors.map(({ errorClass, key, message }) => ({ errorClass, key, message })),
      });
      batches.finish(disposition.finished.map((record) => record.key));
    });
    progress.record(disposition.updates, disposition.totals, true);
    for (const error of disposition.errors) this.parts.reportError(error);
    if (disposition.stop) this.parts.requestStop(disposition.stop);
  }
}
