// The scheduling heart of a run: reads the source with backpressure (never more than a
// bounded window of records in the system), packs and dispatches batches under the
// concurrency limit, applies each batch's disposition to the ledger in one transaction,
// schedules retries, and ends when everything read has finished — or, when the job stops,
// once the requests in flight have come back.
import pLimit from 'p-limit';
import type { Ledger, RecordUpdate } from '../ledger/ledger';
import { drainOrPause, type SinkFeeder } from '../sinks/sinkFeeder';
import type { RecordSource, ResumeCursor } from '../sources/source';
import type { JobSpec } from '../spec/jobSpec';
import type { BatchExecutor, Disposition } from './batchExecutor';
import type { InFlight } from './inFlight';
import type { JobRunner } from './jobRunner';
import { Packer } from './packer';
import type { ProgressTracker } from './progressTracker';
import type { PendingRecord, RecordPreparer } from './recordPreparer';
import type { Watermark } from './watermark';
import { RetryTimers } from './retryTimers';

export interface RunLoopParts {
  spec: JobSpec;
  ledger: Ledger;
  executor: BatchExecutor;
  preparer: RecordPreparer;
  progress: ProgressTracker;
  feeder: SinkFeeder | undefined;
  source: RecordSource;
  watermark: Watermark;
  overheadTokens: number;
  inFlight: InFlight;
}

const idleFlushMs = 200;
const sinkEveryTicks = 5;
const finalsBatch = 500;

export class RunLoop {
  private readonly limit;
  private readonly packer: Packer<PendingRecord>;
  private readonly maxInSystem: number;
  private inSystem = 0;
  private activeBatches = 0;
  private readonly retryTimers = new RetryTimers<PendingRecord>();
  private readingDone = false;
  private lastAddAt = 0;
  private finals: { sequence: number; update: RecordUpdate }[] = [];
  private savedWatermark: ResumeCursor | null;
  private wakeRoom: (() => void) | null = null;
  private wakeDone: (() => void) | null = null;
  private ticks = 0;

  constructor(
    private readonly runner: JobRunner,
    private readonly parts: RunLoopParts,
  ) {
    const { spec } = parts;
    this.limit = pLimit(spec.limits.concurrency);
    this.packer = new Packer({
      recordsPerRequest: spec.batching.recordsPerRequest,
      maxPromptTokens: spec.batching.maxPromptTokens,
      overheadTokens: parts.overheadTokens,
    });
    this.maxInSystem = Math.max(1000, spec.limits.concurrency * spec.batching.recordsPerRequest * 3);
    this.savedWatermark = parts.watermark.cursor;
  }

  async run(after: ResumeCursor | undefined): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.wakeDone = resolve;
    });
    const ticker = setInterval(() => this.tick(), this.runner.progressIntervalMs);
    try {
      await this.read(after);
      this.readingDone = true;
      this.settleIfDone();
      await done;
      this.flushFinals();
      this.saveWatermark();
      await this.drainSink();
    } finally {
      clearInterval(ticker);
    }
  }

  private async read(after: ResumeCursor | undefined): Promise<void> {
    const { source, preparer, watermark, progress } = this.parts;
    const stop = this.runner.signals.stop;
    try {
      for await (const item of source.read({ after, signal: stop })) {
        if (this.runner.stopping) break;
        const sequence = watermark.add(item.cursor);
        const preparation = preparer.prepare(item);
        if (preparation.kind === 'skip') {
          watermark.finish(sequence);
          continue;
        }
        if (preparation.kind === 'finish') {
          this.finals.push({ sequence, update: preparation.update });
          if (preparation.message) this.runner.reportError({ errorClass: preparation.update.errorClass ?? 'failed', outcome: 'failed', key: item.key, message: preparation.message });
          if (this.finals.length >= finalsBatch) this.flushFinals();
          continue;
        }
        if (preparation.reopened) progress.reopen(preparation.reopened);
        this.inSystem += 1;
        this.lastAddAt = Date.now();
        for (const batch of this.packer.add({ ...preparation.record, sequence })) this.dispatch(batch);
        if (this.inSystem >= this.maxInSystem) await this.room();
      }
    } catch (error) {
      // The source failed for good (its own retries are spent): stop admitting, keep what is done.
      if (!stop.aborted) {
        const message = error instanceof Error ? error.message : String(error);
        this.runner.requestStop({ kind: 'fatal', errorClass: 'source', message: `Reading the source failed: ${message}. Fix it and resume; finished records are kept.` });
      }
    }
    const rest = this.packer.flush();
    if (rest) this.dispatch(rest);
  }

  private room(): Promise<void> {
    return new Promise((resolve) => {
      this.wakeRoom = resolve;
    });
  }

  private dispatch(batch: PendingRecord[]): void {
    if (this.runner.stopping) {
      this.inSystem -= batch.length;
      return;
    }
    this.activeBatches += 1;
    void this.limit(() => this.parts.executor.execute(batch))
      .then(
        (disposition) => this.apply(disposition, true),
        (error: unknown) => {
          this.inSystem -= batch.length;
          const message = `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
          this.runner.requestStop({ kind: 'fatal', errorClass: 'internal', message });
        },
      )
      .finally(() => {
        this.activeBatches -= 1;
        this.settleIfDone();
      });
  }

  private apply(disposition: Disposition, byRequest: boolean): void {
    const { ledger, watermark, progress } = this.parts;
    ledger.commit({
      updates: disposition.updates,
      totals: disposition.totals,
      errors: disposition.errors.map((error) => ({ errorClass: error.errorClass, key: error.key, message: error.message })),
    });
    for (const record of disposition.finished) watermark.finish(record.sequence);
    this.inSystem -= disposition.finished.length + disposition.abandoned.length;
    progress.record(disposition.updates, disposition.totals, byRequest);
    for (const error of disposition.errors) this.runner.reportError(error);
    for (const { batch, delayMs } of disposition.retry) this.retryLater(batch, delayMs);
    if (disposition.stop) this.runner.requestStop(disposition.stop);
    if (this.runner.stopping) this.abandonWaiting();
    this.wake();
  }

  private retryLater(batch: PendingRecord[], delayMs: number): void {
    if (this.runner.stopping) {
      this.inSystem -= batch.length;
      return;
    }
    this.retryTimers.schedule(batch, delayMs, (due) => this.dispatch(due));
  }

  /** When the job stops, nothing more is sent: waiting work goes back to unfinished. */
  private abandonWaiting(): void {
    this.inSystem -= this.retryTimers.abandon();
    const partial = this.packer.flush();
    if (partial) this.inSystem -= partial.length;
  }

  private flushFinals(): void {
    if (this.finals.length === 0) return;
    const finals = this.finals;
    this.finals = [];
    const updates = finals.map((final) => final.update);
    this.parts.ledger.commit({
      updates,
      errors: updates
        .filter((update) => update.status === 'failed')
        .map((update) => ({ errorClass: update.errorClass ?? 'failed', key: update.key, message: update.error ?? '' })),
    });
    for (const final of finals) this.parts.watermark.finish(final.sequence);
    this.parts.progress.record(updates, {}, false);
  }

  private saveWatermark(): void {
    const cursor = this.parts.watermark.cursor;
    if (cursor === this.savedWatermark) return;
    this.parts.ledger.commit({ watermark: cursor });
    this.savedWatermark = cursor;
  }

  private drainSink(): Promise<void> {
    return drainOrPause(this.parts.feeder, (stop) => this.runner.requestStop(stop));
  }

  private tick(): void {
    this.ticks += 1;
    if (this.runner.stopping) this.abandonWaiting();
    if (this.packer.size > 0 && Date.now() - this.lastAddAt >= idleFlushMs) {
      const batch = this.packer.flush();
      if (batch) this.dispatch(batch);
    }
    this.flushFinals();
    this.saveWatermark();
    if (this.ticks % sinkEveryTicks === 0) void this.drainSink();
    this.runner.emitProgress(this.parts.progress.snapshot(this.parts.ledger.job(), this.runner.stopping?.errorClass ?? (this.runner.stopping ? 'user' : null)));
    this.settleIfDone();
    this.wake();
  }

  private wake(): void {
    if (this.wakeRoom && (this.inSystem < this.maxInSystem || this.runner.stopping)) {
      const wake = this.wakeRoom;
      this.wakeRoom = null;
      wake();
    }
  }

  private settleIfDone(): void {
    if (!this.readingDone || this.activeBatches > 0) return;
    if (!this.runner.stopping && (this.retryTimers.size > 0 || this.packer.size > 0)) return;
    if (this.runner.stopping) this.abandonWaiting();
    const wake = this.wakeDone;
    this.wakeDone = null;
    wake?.();
  }
}
