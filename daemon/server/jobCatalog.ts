// What the state directory says about jobs: their ledgers, read without changing anything,
// as the protocol's JobInfo, error classes, specs and result pages.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger, ledgerPath, type JobRow } from '../ledger/ledger';
import type { JobProgress } from '../protocol/jobProgress';
import type { JobSpec } from '../spec/jobSpec';
import { jobIdSchema, rpcErrorCode, type JobInfo, type ResultRowWire, type RpcResult } from '../protocol/rpc';
import { RpcError } from './rpcError';

type Counts = { done: number; failed: number };

/** A job running in the daemon: its live numbers override the ledger's picture. */
export interface LiveJob {
  progress: JobProgress | null;
  spec: JobSpec;
  startedAt: string;
}

function modelOf(specJson: string): string | null {
  try {
    const model = (JSON.parse(specJson) as { model?: unknown }).model;
    return typeof model === 'string' ? model : null;
  } catch {
    return null;
  }
}

export class JobCatalog {
  /** Counting a large ledger's records scans it; idle ledgers only change when a run ends. */
  private readonly countsCache = new Map<string, { updatedAt: string; counts: Counts }>();

  constructor(
    readonly stateDir: string,
    /** Status reasons and error samples may quote a provider's answer. */
    private readonly redact: (text: string) => string,
  ) {}

  names(): string[] {
    const jobsDir = join(this.stateDir, 'jobs');
    if (!existsSync(jobsDir)) return [];
    return readdirSync(jobsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && jobIdSchema.safeParse(entry.name).success && existsSync(ledgerPath(this.stateDir, entry.name)))
      .map((entry) => entry.name)
      .sort();
  }

  exists(jobId: string): boolean {
    return existsSync(ledgerPath(this.stateDir, jobId));
  }

  /** Opens the job's ledger read-only for `read`, or answers jobNotFound. */
  withLedger<T>(jobId: string, read: (ledger: Ledger, job: JobRow) => T): T {
    if (!this.exists(jobId)) throw new RpcError(rpcErrorCode.jobNotFound, `no job named "${jobId}" in ${this.stateDir}`);
    const ledger = Ledger.openReadOnly(this.stateDir, jobId);
    try {
      const job = ledger.job();
      if (!job) throw new RpcError(rpcErrorCode.jobNotFound, `job "${jobId}" has a ledger but has not started yet`);
      return read(ledger, job);
    } finally {
      ledger.close();
    }
  }

  info(jobId: string, live: LiveJob | undefined): JobInfo {
    if (live) return this.liveRead(jobId, (ledger, job) => this.describe(ledger, job, live)) ?? this.starting(live);
    return this.withLedger(jobId, (ledger, job) => this.describe(ledger, job, live));
  }

  /** Every job with a ledger; one unreadable ledger does not hide the others. */
  list(liveJobs: ReadonlyMap<string, LiveJob>, onUnreadable: (jobId: string, error: unknown) => void): JobInfo[] {
    const infos: JobInfo[] = [];
    for (const jobId of this.names()) {
      try {
        infos.push(this.info(jobId, liveJobs.get(jobId)));
      } catch (error) {
        onUnreadable(jobId, error);
      }
    }
    return infos;
  }

  detail(jobId: string, live: LiveJob | undefined): RpcResult<'job.get'> {
    const read = (ledger: Ledger, job: JobRow): RpcResult<'job.get'> => ({
      info: this.describe(ledger, job, live),
      progress: live?.progress ?? null,
      errors: ledger.errorsByClass().map((error) => ({ ...error, sampleMessage: this.redact(error.sampleMessage) })),
      spec: JSON.parse(job.specJson) as Record<string, unknown>,
    });
    if (!live) return this.withLedger(jobId, read);
    return this.liveRead(jobId, read) ?? { info: this.starting(live), progress: live.progress, errors: [], spec: live.spec };
  }

  resultsPage(jobId: string, page: { offset: number; limit: number; status?: 'done' | 'failed' }): RpcResult<'results.page'> {
    return this.withLedger(jobId, (ledger) => {
      const rows: ResultRowWire[] = [...ledger.finished(page)];
      const counts = ledger.counts();
      const total = page.status ? counts[page.status] : counts.done + counts.failed;
      return { rows, total };
    });
  }

  /**
   * A running job's worker creates its ledger a moment after the job starts: until then
   * (no file, no tables, no job row yet) there is nothing to read, which is not an error.
   */
  private liveRead<T>(jobId: string, read: (ledger: Ledger, job: JobRow) => T): T | null {
    try {
      return this.withLedger(jobId, read);
    } catch {
      return null;
    }
  }

  private starting(live: LiveJob): JobInfo {
    const records = live.progress?.records;
    return {
      jobId: live.spec.name,
      status: 'running',
      statusReason: null,
      active: true,
      model: live.spec.model,
      records: { total: records?.total ?? null, totalExact: records?.totalExact ?? false, done: records?.done ?? 0, failed: records?.failed ?? 0 },
      tokens: live.progress?.tokens ?? { prompt: 0, completion: 0 },
      costUsd: live.progress?.costUsd ?? 0,
      createdAt: live.startedAt,
      updatedAt: live.startedAt,
    };
  }

  private describe(ledger: Ledger, job: JobRow, live: LiveJob | undefined): JobInfo {
    const progress = live?.progress ?? null;
    const counts = progress ? progress.records : this.counts(ledger, job);
    return {
      jobId: job.name,
      status: live ? 'running' : job.status,
      statusReason: live || job.statusReason === null ? null : this.redact(job.statusReason),
      active: live !== undefined,
      model: modelOf(job.specJson),
      records: {
        total: progress?.records.total ?? job.total,
        totalExact: progress?.records.totalExact ?? job.totalExact,
        done: counts.done,
        failed: counts.failed,
      },
      tokens: progress ? progress.tokens : { prompt: job.promptTokens, completion: job.completionTokens },
      costUsd: progress ? progress.costUsd : job.costUsd,
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
    };
  }

  private counts(ledger: Ledger, job: JobRow): Counts {
    const cached = this.countsCache.get(job.name);
    if (cached && cached.updatedAt === job.updatedAt) return cached.counts;
    const { done, failed } = ledger.counts();
    this.countsCache.set(job.name, { updatedAt: job.updatedAt, counts: { done, failed } });
    return { done, failed };
  }
}
