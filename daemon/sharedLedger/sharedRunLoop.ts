// One worker's share of a job on the shared Postgres ledger: claims chunks of pending
// records, prepares and packs them, sends them through the same executor as a single-process
// run, and commits each batch's outcome under its claim's fence. Heartbeats keep the claims
// in flight alive; a claim this worker lost (it was not heard from for longer than the
// lease) is given up — its answers, if they still come, are refused by the database. The
// loop ends when the whole job has nothing pending and loading has finished, or when this
// worker stops (pause, cancel, a fatal error), leaving its unfinished records to the others.
import pLimit from 'p-limit';
import type { Ledger, RecordUpdate } from '../ledger/ledger';
import type { Budget } from '../limits/budget';
import type { BatchExecutor, Disposition } from '../pipeline/batchExecutor';
import type { JobRunner } from '../pipeline/jobRunner';
import { Packer } from '../pipeline/packer';
import type { ProgressTracker } from '../pipeline/progressTracker';
import type { PendingRecord, RecordPreparer } from '../pipeline/recordPreparer';
import type { SourceItem } from '../sources/source';
import type { JobSpec } from '../spec/jobSpec';
import type { ClaimedRow, PostgresLedger } from './postgresLedger';
import { RetryTimers } from '../pipeline/retryTimers';

export interface SharedRunLoopParts {
  spec: JobSpec;
  ledger: PostgresLedger;
  /** This worker's own SQLite ledger: the records it committed and its spend, for the daemon's listings and exports. */
  mirror: Ledger;
  executor: BatchExecutor;
  preparer: RecordPreparer;
  progress: ProgressTracker;
  budget: Budget;
  overheadTokens: number;
  leaseMs: number;
  claimSize: number;
  /** Runs the loader (or waits for another worker's) until everything is loaded; rejects when reading the source fails. */
  load(): Promise<void>;
}

export interface SharedRunResult {
  /** Answers this worker got but could not commit: another worker had claimed their records. */
  discarded: number;
}

const refreshEveryMs = 1000;

/** Often enough to take over an expired lease soon after it runs out, rarely enough to be cheap. */
export const pollIntervalMs = (leaseMs: number) => Math.min(1000, Math.max(50, Math.floor(leaseMs / 5)));

function sourceItemOf(row: ClaimedRow): SourceItem {
  const cursor = { ordinal: row.ordinal, key: row.key };
  if (row.malformed !== null || row.fields === null) {
    return { kind: 'malformed', key: row.key, ordinal: row.ordinal, cursor, reason: row.malformed ?? 'no fields were loaded' };
  }
  return { kind: 'record', key: row.key, ordinal: row.ordinal, cursor, fields: row.fields };
}

export class SharedRunLoop {
  private readonly limit;
  private readonly packer: Packer<PendingRecord>;
  private readonly maxInSystem: number;
  private readonly pollMs: number;
  private inSystem = 0;
  private activeBatches = 0;
  private readonly retryTimers = new RetryTimers<PendingRecord>();
  private loaded = false;
  private discarded = 0;
  private databaseFailing = false;
  /** The job's spend in the shared row when last read, and this worker's part of it then and now. */
  private sharedCostSeen: number;
  private ownCostSeen = 0;
  private ownCostAdded = 0;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly runner: JobRunner,
    private readonly parts: SharedRunLoopParts,
  ) {
    const { spec } = parts;
    this.limit = pLimit(spec.limits.concurrency);
    this.packer = new Packer({
      recordsPerRequest: spec.batching.recordsPerRequest,
      maxPromptTokens: spec.batching.maxPromptTokens,
      overheadTokens: parts.overheadTokens,
    });
    this.maxInSystem = Math.max(parts.claimSize, spec.limits.concurrency * spec.batching.recordsPerRequest * 2);
    this.pollMs = pollIntervalMs(parts.leaseMs);
    this.sharedCostSeen = parts.ledger.job()?.costUsd ?? 0;
  }

  async run(): Promise<SharedRunResult> {
    const { ledger, progress } = this.parts;
    const heartbeat = setInterval(() => void this.heartbeat(), Math.max(100, Math.floor(this.parts.leaseMs / 3)));
    const ticker = setInterval(() => this.tick(), this.runner.progressIntervalMs);
    const refresher = setInterval(() => void this.refresh(), refreshEveryMs);
    const loading = this.parts.load().then(
      () => {
        this.loaded = true;
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.runner.requestStop({ kind: 'fatal', errorClass: 'source', message: `Loading the source into the shared ledger failed: ${message}. Fix it and start the worker again; finished records are kept.` });
      },
    );
    try {
      while (!this.runner.stopping) {
        if (this.inSystem >= this.maxInSystem) {
          await this.pause(this.pollMs);
          continue;
        }
        const claimed = await this.unlessDatabaseFails(() => ledger.claim(Math.min(this.parts.claimSize, this.maxInSystem - this.inSystem)));
        if (claimed && claimed.length > 0) {
          await this.take(claimed);
          continue;
        }
        if (claimed && this.loaded && this.inSystem === 0 && this.activeBatches === 0) {
          // Nothing to claim: finished, or records leased by live workers (wait: they may die).
          const state = await this.unlessDatabaseFails(() => ledger.state());
          if (state?.pending === 0) break;
        }
        await this.pause(this.pollMs);
      }
      await this.settled();
      await loading;
      await this.refresh();
      progress.setCounts(ledger.counts().done, ledger.counts().failed);
      return { discarded: this.discarded };
    } finally {
      clearInterval(heartbeat);
      clearInterval(ticker);
      clearInterval(refresher);
      await ledger.releaseAll().catch((error: unknown) => this.runner.log('warn', `could not give back unfinished claims (their leases will run out): ${String(error)}`));
    }
  }

  /** A database that cannot be reached is waited for (reported once per outage); the leases keep the job safe meanwhile. */
  private async unlessDatabaseFails<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await work();
      this.databaseFailing = false;
      return result;
    } catch (error) {
      if (!this.databaseFailing) this.runner.log('warn', `the shared ledger cannot be reached (${error instanceof Error ? error.message : String(error)}); retrying`);
      this.databaseFailing = true;
      return undefined;
    }
  }

  private async take(claimed: readonly ClaimedRow[]): Promise<void> {
    const finals: RecordUpdate[] = [];
    for (const row of claimed) {
      const preparation = this.parts.preparer.prepare(sourceItemOf(row));
      if (preparation.kind === 'skip') continue;
      if (preparation.kind === 'finish') {
        finals.push(preparation.update);
        if (preparation.message) this.runner.reportError({ errorClass: preparation.update.errorClass ?? 'failed', outcome: 'failed', key: row.key, message: preparation.message });
        continue;
      }
      this.inSystem += 1;
      for (const batch of this.packer.add({ ...preparation.record, sequence: 0 })) this.dispatch(batch);
    }
    // A claim is all there is for now: its last partial batch goes at once.
    const rest = this.packer.flush();
    if (rest) this.dispatch(rest);
    if (finals.length > 0) await this.commitFinals(finals);
  }

  private dispatch(batch: PendingRecord[]): void {
    if (this.runner.stopping) {
      this.inSystem -= batch.length;
      return;
    }
    this.activeBatches += 1;
    void this.limit(() => this.parts.executor.execute(batch))
      .then((disposition) => this.apply(disposition))
      .catch((error: unknown) => {
        this.inSystem -= batch.length;
        const message = `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
        this.runner.requestStop({ kind: 'fatal', errorClass: 'internal', message });
      })
      .finally(() => {
        this.activeBatches -= 1;
        this.wake();
      });
  }

  private async apply(disposition: Disposition): Promise<void> {
    const { ledger, progress } = this.parts;
    const result = await ledger.commit(disposition.updates, disposition.totals);
    // The totals reached the shared row unless the commit itself failed.
    if (result.failure === undefined) this.ownCostAdded += disposition.totals.costUsd ?? 0;
    this.inSystem -= disposition.finished.length + disposition.abandoned.length;
    // Records handed back without an answer (this worker stops, or their lease was lost before sending).
    await ledger.release(disposition.abandoned.map((record) => record.key));
    if (!result.committed) {
      const answers = disposition.updates.filter((update) => update.status !== 'pending').length;
      this.discarded += answers;
      const keys = `${result.lost.slice(0, 5).join(', ')}${result.lost.length > 5 ? ', …' : ''}`;
      this.runner.log(
        'warn',
        result.failure === undefined
          ? `lost the lease on ${result.lost.length} records (${keys}) to another worker; the commit was refused and ${answers} answers discarded`
          : `could not commit ${result.lost.length} records (${keys}): ${result.failure}; they go to whoever claims them after their lease runs out`,
      );
      // Nothing of this batch is this worker's any more: its retries are dropped too.
      for (const { batch } of disposition.retry) this.inSystem -= batch.length;
      ledger.drop(disposition.retry.flatMap(({ batch }) => batch.map((record) => record.key)));
      progress.record([], disposition.totals, true);
      this.parts.mirror.commit({ totals: disposition.totals });
      this.wake();
      return;
    }
    this.parts.mirror.commit({ updates: disposition.updates.filter((update) => update.status !== 'pending'), totals: disposition.totals });
    progress.record(disposition.updates, disposition.totals, true);
    for (const error of disposition.errors) this.runner.reportError(error);
    for (const { batch, delayMs } of disposition.retry) this.retryLater(batch, delayMs);
    if (disposition.stop) this.runner.requestStop(disposition.stop);
    if (this.runner.stopping) this.abandonWaiting();
    this.wake();
  }

  private async commitFinals(updates: RecordUpdate[]): Promise<void> {
    const result = await this.parts.ledger.commit(updates, {});
    if (!result.committed) return;
    this.parts.mirror.commit({ updates });
    this.parts.progress.record(updates, {}, false);
  }

  private retryLater(batch: PendingRecord[], delayMs: number): void {
    if (this.runner.stopping) {
      this.inSystem -= batch.length;
      return;
    }
    this.retryTimers.schedule(batch, delayMs, (due) => this.dispatch(due));
  }

  /** When this worker stops, nothing more is sent; what waits goes back to the other workers. */
  private abandonWaiting(): void {
    this.inSystem -= this.retryTimers.abandon();
    const partial = this.packer.flush();
    if (partial) this.inSystem -= partial.length;
  }

  private async heartbeat(): Promise<void> {
    try {
      const lost = await this.parts.ledger.heartbeat();
      if (lost.length > 0) {
        this.runner.log('warn', `lost the lease on ${lost.length} records (not heard from for over ${this.parts.leaseMs} ms); another worker has them now`);
      }
    } catch (error) {
      this.runner.log('warn', `heartbeat failed (the leases run out unless the next one succeeds): ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async refresh(): Promise<void> {
    try {
      const ownAdded = this.ownCostAdded;
      await this.parts.ledger.refresh();
      // What the other workers spent since the last read counts against this worker's budget
      // too (a commit racing the read is corrected at the next one).
      const shared = this.parts.ledger.job()?.costUsd ?? this.sharedCostSeen;
      this.parts.budget.addSpentElsewhere(shared - this.sharedCostSeen - (ownAdded - this.ownCostSeen));
      this.sharedCostSeen = shared;
      this.ownCostSeen = ownAdded;
    } catch (error) {
      this.runner.log('warn', `could not read the shared job's state: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private tick(): void {
    if (this.runner.stopping) this.abandonWaiting();
    const { ledger, progress } = this.parts;
    const job = ledger.job();
    progress.setCounts(ledger.counts().done, ledger.counts().failed);
    if (job?.total !== null && job?.total !== undefined) progress.setTotal(job.total, job.totalExact);
    this.runner.emitProgress(progress.snapshot(job, this.runner.stopping?.errorClass ?? (this.runner.stopping ? 'user' : null)));
    this.wake();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const stop = this.runner.signals.stop;
      function done() {
        clearTimeout(timer);
        stop.removeEventListener('abort', done);
        resolve();
      }
      stop.addEventListener('abort', done, { once: true });
      this.wakeUp = done;
    });
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  /** Waits until every batch in flight has come back and been committed (or refused). */
  private async settled(): Promise<void> {
    for (;;) {
      if (this.runner.stopping) this.abandonWaiting();
      if (this.activeBatches === 0 && this.retryTimers.size === 0 && this.packer.size === 0) return;
      await this.pause(this.pollMs);
    }
  }
}
