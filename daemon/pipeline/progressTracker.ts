// The job's live numbers: counts, totals, rates, ETA, projected cost and rate-limit
// headroom, kept in memory and turned into a JobProgress snapshot on demand.
import type { JobRow, JobTotals, RecordUpdate } from '../ledger/ledger';
import type { ProgressLedger } from '../ledger/ledgerViews';
import type { AdmissionControl } from '../limits/admissionControl';
import type { Budget } from '../limits/budget';
import type { Clock } from '../limits/clock';
import type { BatchProgress, JobProgress } from '../protocol/jobProgress';
import type { EndpointRouter } from '../provider/endpointRouter';
import { RateMeter } from './rateMeter';

export class ProgressTracker {
  readonly counts: { done: number; failed: number };
  private cached = 0;
  private total: number | null;
  private totalExact: boolean;
  private readonly totals: JobTotals;
  private readonly startedAt: number;
  private readonly previousElapsedMs: number;
  private readonly recordRate = new RateMeter();
  private readonly tokenRate = new RateMeter();
  private finishedByRequest = 0;
  private costThisRun = 0;
  private endedAt: number | null = null;
  private batch: BatchProgress | undefined;

  constructor(
    private readonly jobId: string,
    ledger: ProgressLedger,
    private readonly admission: AdmissionControl,
    private readonly budget: Budget,
    private readonly router: EndpointRouter,
    private readonly clock: Clock,
    private readonly inFlight: () => number,
  ) {
    const counts = ledger.counts();
    this.counts = { done: counts.done, failed: counts.failed };
    const job = ledger.job();
    this.total = job?.total ?? null;
    this.totalExact = job?.totalExact ?? false;
    this.totals = {
      requests: job?.requests ?? 0,
      retries: job?.retries ?? 0,
      rateLimited: job?.rateLimited ?? 0,
      promptTokens: job?.promptTokens ?? 0,
      completionTokens: job?.completionTokens ?? 0,
      costUsd: job?.costUsd ?? 0,
    };
    this.previousElapsedMs = job?.elapsedMs ?? 0;
    this.startedAt = clock.now();
  }

  setTotal(total: number, exact: boolean): void {
    this.total = total;
    this.totalExact = exact;
  }

  /** Counts from a ledger that other workers also finish records in. */
  setCounts(done: number, failed: number): void {
    this.counts.done = done;
    this.counts.failed = failed;
  }

  /** A record finished in an earlier run is being answered again (its input changed). */
  reopen(status: 'done' | 'failed'): void {
    this.counts[status] -= 1;
  }

  record(updates: readonly RecordUpdate[], totals: Partial<JobTotals>, byRequest: boolean): void {
    const now = this.clock.now();
    let finished = 0;
    for (const update of updates) {
      if (update.status === 'pending') continue;
      finished += 1;
      this.counts[update.status] += 1;
      if (update.cached) this.cached += 1;
    }
    if (byRequest) this.finishedByRequest += finished;
    for (const name of Object.keys(totals) as (keyof JobTotals)[]) this.totals[name] += totals[name] ?? 0;
    this.costThisRun += totals.costUsd ?? 0;
    this.recordRate.add(finished, now);
    this.tokenRate.add((totals.promptTokens ?? 0) + (totals.completionTokens ?? 0), now);
  }

  setBatch(batch: BatchProgress): void {
    this.batch = batch;
  }

  finishRun(): number {
    this.endedAt = this.clock.now();
    return this.endedAt - this.startedAt;
  }

  snapshot(job: JobRow | undefined, pauseClass: string | null = null): JobProgress {
    const now = this.endedAt ?? this.clock.now();
    const recordsPerSec = this.endedAt ? 0 : this.recordRate.perSecond(now, this.startedAt);
    const remaining = this.total === null ? null : Math.max(0, this.total - this.counts.done - this.counts.failed);
    const costPerRecord = this.finishedByRequest > 0 ? this.costThisRun / this.finishedByRequest : null;
    const headroom = this.admission.headroom();
    return {
      jobId: this.jobId,
      status: job?.status ?? 'running',
      statusReason: job?.statusReason ?? null,
      pauseClass,
      records: { total: this.total, totalExact: this.totalExact, done: this.counts.done, failed: this.counts.failed, cached: this.cached },
      requests: this.totals.requests,
      retries: this.totals.retries,
      rateLimited: this.totals.rateLimited,
      inFlight: this.inFlight(),
      tokens: { prompt: this.totals.promptTokens, completion: this.totals.completionTokens },
      costUsd: this.totals.costUsd,
      projectedCostUsd: remaining === null || costPerRecord === null ? null : this.totals.costUsd + remaining * costPerRecord,
      budgetUsd: this.budget.limitUsd ?? null,
      rates: { recordsPerSec, tokensPerSec: this.endedAt ? 0 : this.tokenRate.perSecond(now, this.startedAt) },
      etaSec: remaining === null || recordsPerSec <= 0 ? null : remaining / recordsPerSec,
      headroom,
      endpoint: this.router.activeBaseUrl,
      elapsedSec: (this.previousElapsedMs + (now - this.startedAt)) / 1000,
      ...(this.batch ? { batch: this.batch } : {}),
    };
  }
}
