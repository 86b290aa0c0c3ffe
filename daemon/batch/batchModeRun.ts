// Runs a job in batch mode: stages the source's records in the ledger, submits them as
// provider batches (files within the provider's and the spec's limits), polls the batches,
// joins their results back by custom_id, sends failed or expired lines again in later
// batches and, after `batch.maxSubmissions`, through the online path. Pause stops polling
// (the batches go on at the provider and the next run picks them up); cancel cancels them.
import { setTimeout as delay } from 'node:timers/promises';
import { formatCount } from '../cli/format';
import type { BatchLedger, SubmissionRow } from '../ledger/batchLedger';
import type { Ledger } from '../ledger/ledger';
import type { Budget } from '../limits/budget';
import type { BatchProgress } from '../protocol/jobProgress';
import { drainOrPause, type SinkFeeder } from '../sinks/sinkFeeder';
import type { RecordSource } from '../sources/source';
import type { JobSpec } from '../spec/jobSpec';
import type { BatchExecutor } from '../pipeline/batchExecutor';
import type { JobRunner } from '../pipeline/jobRunner';
import type { ProgressTracker } from '../pipeline/progressTracker';
import type { RecordPreparer } from '../pipeline/recordPreparer';
import { BatchApiError, finalStatuses, type BatchApi } from './batchApi';
import type { BatchJoiner } from './batchJoiner';
import { stageSource } from './batchStager';
import type { BatchSubmitter } from './batchSubmitter';
import type { OnlineFallback } from './onlineFallback';

export interface BatchRunParts {
  spec: JobSpec;
  ledger: Ledger;
  source: RecordSource;
  preparer: RecordPreparer;
  progress: ProgressTracker;
  feeder: SinkFeeder | undefined;
  executor: BatchExecutor;
  budget: Budget;
  api: BatchApi;
  submitter: BatchSubmitter;
  joiner: BatchJoiner;
  online: OnlineFallback;
}

/** Provider calls that fail this many times in a row pause the job. */
const maxFailuresInARow = 5;

export class BatchModeRun {
  private readonly batches: BatchLedger;
  private onlineRound: Promise<void> | null = null;
  private failuresInARow = 0;

  constructor(
    private readonly runner: JobRunner,
    private readonly parts: BatchRunParts,
  ) {
    this.batches = parts.ledger.batches();
  }

  async run(): Promise<void> {
    const stop = this.runner.signals.stop;
    const ticker = setInterval(() => this.emit(), this.runner.progressIntervalMs);
    try {
      // Reserve what batches left running by an earlier run may still cost.
      for (const submission of this.batches.openSubmissions()) this.parts.budget.tryReserve(submission.reservedUsd);
      await this.guard(() => this.parts.submitter.recover(stop));
      let stagedAtLastTry = 0;
      await stageSource(
        {
          ...this.parts,
          reportError: (note) => this.runner.reportError(note),
          // A full file can only be waiting once a file's worth more was staged: counting the
          // waiting records after every chunk would scan them again and again.
          staged: async (count) => {
            if (count - stagedAtLastTry < this.parts.submitter.recordsPerFile) return;
            stagedAtLastTry = count;
            while (!this.runner.stopping && (await this.submit(true)) === 'submitted');
          },
        },
        stop,
      );
      await this.loop();
      if (this.runner.stopping?.kind === 'cancel') await this.cancelOpen();
      await this.onlineRound;
    } finally {
      clearInterval(ticker);
    }
    await this.drainSink();
    this.emit();
  }

  private async loop(): Promise<void> {
    const stop = this.runner.signals.stop;
    while (!this.runner.stopping) {
      await this.guard(() => this.parts.submitter.recover(stop));
      // While batches are open, more of their lines may come back to send again: only full
      // files go now, and the rest waits for the last batch to end (no trickle of tiny batches).
      const fullOnly = this.batches.openSubmissions().length > 0;
      while (!this.runner.stopping && (await this.submit(fullOnly)) === 'submitted');
      this.startOnlineRound();
      const open = this.batches.openSubmissions();
      if (open.length === 0) {
        if (this.onlineRound) await this.onlineRound;
        else if (this.batches.waitingCount() === 0) return;
        continue;
      }
      const joined = await this.guard(() => this.pollOnce(open));
      await this.drainSink();
      this.emit();
      if (!joined) await this.sleep(this.parts.spec.batch.pollIntervalMs);
    }
  }

  private async submit(fullOnly: boolean): Promise<'submitted' | 'nothing' | 'budget' | 'failed'> {
    const result = await this.guard(() => this.parts.submitter.submitOne(this.runner.signals.stop, fullOnly));
    if (result === undefined) return 'failed';
    if (result === 'budget') {
      const { budget, spec } = this.parts;
      this.runner.requestStop({
        kind: 'budget',
        errorClass: 'budget',
        message: `Paused before passing the budget of $${spec.limits.budgetUsd ?? 0} (spent $${budget.spentUsd.toFixed(4)}, $${budget.reservedUsd.toFixed(4)} reserved for batches in progress). Raise limits.budgetUsd and resume to go on.`,
      });
    }
    return result;
  }

  /** Asks about every open batch; joins the ones that ended. True when one was joined. */
  private async pollOnce(open: readonly SubmissionRow[]): Promise<boolean> {
    const { api, joiner, budget } = this.parts;
    const stop = this.runner.signals.stop;
    let joined = false;
    for (const submission of open) {
      if (this.runner.stopping) break;
      if (!submission.providerBatchId) continue;
      const state = await api.retrieve(submission.providerBatchId, stop);
      this.batches.setStatus(submission.id, state.status, state.completed, state.failed);
      if (!finalStatuses.has(state.status)) continue;
      if (state.status !== 'completed') {
        const why = state.errors.length > 0 ? `: ${state.errors.slice(0, 3).join('; ')}` : '';
        this.runner.log('warn', `batch ${state.id} ended ${state.status}${why}; its unanswered records go again`);
      }
      const tally = await joiner.join(api, { ...submission, status: state.status }, stop);
      budget.settle(submission.reservedUsd, tally.costUsd);
      this.runner.log('info', `batch ${state.id} ${state.status}: joined ${formatCount(tally.done)} records, ${formatCount(tally.again)} to send again`);
      joined = true;
    }
    return joined;
  }

  private startOnlineRound(): void {
    if (this.onlineRound || this.runner.stopping) return;
    if (this.batches.exhausted(this.parts.spec.batch.maxSubmissions, 1).length === 0) return;
    this.onlineRound = this.parts.online
      .runRound()
      .then((sent) => {
        if (sent > 0) this.runner.log('info', `${formatCount(sent)} records went through the online path after ${this.parts.spec.batch.maxSubmissions} batch submissions`);
      })
      .finally(() => {
        this.onlineRound = null;
      });
  }

  private async cancelOpen(): Promise<void> {
    for (const submission of this.batches.openSubmissions()) {
      if (!submission.providerBatchId) continue;
      try {
        const state = await this.parts.api.cancel(submission.providerBatchId, AbortSignal.timeout(30_000));
        this.batches.setStatus(submission.id, state.status, state.completed, state.failed);
      } catch (error) {
        this.runner.log('warn', `could not cancel batch ${submission.providerBatchId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  /** A provider call that fails: fatal errors pause the job, others are tried again next round. */
  private async guard<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await work();
      this.failuresInARow = 0;
      return result;
    } catch (error) {
      if (this.runner.signals.stop.aborted) return undefined;
      if (!(error instanceof BatchApiError)) throw error;
      this.failuresInARow += 1;
      const { errorClass, category, message } = error.error;
      this.runner.reportError({ errorClass, key: null, message, outcome: category === 'fatal' ? 'fatal' : 'retried' });
      if (category === 'fatal' || this.failuresInARow >= maxFailuresInARow) {
        const what = category === 'fatal' ? message : `the batch API failed ${this.failuresInARow} times in a row (last: ${message})`;
        this.runner.requestStop({ kind: 'fatal', errorClass, message: `${what}. The job is paused; its batches are kept — resume it to go on.` });
      } else {
        await this.sleep(Math.min(this.parts.spec.batch.pollIntervalMs, 30_000));
      }
      return undefined;
    }
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await delay(ms, undefined, { signal: this.runner.signals.stop });
    } catch {
      // the job is stopping
    }
  }

  private drainSink(): Promise<void> {
    return drainOrPause(this.parts.feeder, (stop) => this.runner.requestStop(stop));
  }

  private emit(): void {
    const { progress, ledger } = this.parts;
    progress.setBatch(this.batchProgress());
    this.runner.emitProgress(progress.snapshot(ledger.job(), this.runner.stopping?.errorClass ?? (this.runner.stopping ? 'user' : null)));
  }

  private batchProgress(): BatchProgress {
    const all = this.batches.allSubmissions();
    const waiting = this.batches.waitingCount();
    const open = all.flatMap((submission, index) => (submission.status === 'joined' ? [] : [{ submission, number: index + 1 }]));
    const words = open.slice(0, 3).map(({ submission, number }) =>
      `batch ${number}/${all.length} ${submission.status}, ${formatCount(submission.completed)}/${formatCount(submission.lines)} done`,
    );
    if (open.length > 3) words.push(`${open.length - 3} more batches`);
    if (waiting > 0) words.push(`${formatCount(waiting)} records waiting`);
    if (words.length === 0) words.push(all.length === 0 ? 'preparing batches' : `${all.length} batches joined`);
    return {
      state: words.join(' · '),
      batches: open.map(({ submission }) => ({
        id: submission.providerBatchId,
        status: submission.status,
        total: submission.lines,
        completed: submission.completed,
        failed: submission.failed,
      })),
      waiting,
    };
  }
}
