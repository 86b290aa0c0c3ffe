// What this window knows about the daemon's jobs: their info, live progress, error classes
// and throughput history, kept current from the daemon's notifications. No UI and no
// `vscode`: the tree, the status bar and the dashboards read it and listen to its events.
import type { DaemonClient } from '../../daemon/daemonClient/daemonClient';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import type { JobInfo, JobState, RpcResult } from '../../daemon/protocol/rpc';
import { appendPoint, pointFrom } from '../../webview/dashboard/chartHistory';
import type { ChartPoint, ErrorClassCountMessage } from '../../webview/protocol/dashboardMessages';
import type { DaemonConnection } from '../daemon/daemonConnection';
import { Listeners } from '../shared/listeners';

export interface JobEntry {
  info: JobInfo;
  progress: JobProgress | null;
  errors: ErrorClassCountMessage[];
  /** Throughput samples seen by this window, for the dashboard's chart. */
  history: ChartPoint[];
}

export interface JobsModelOptions {
  /** Jobs the extension runs for itself (record previews) stay out of the list. */
  isHidden(jobId: string): boolean;
  /** Error classes are re-read at most this often per job while errors keep coming. */
  errorRefreshMs?: number;
  onProblem(message: string): void;
}

export class JobsModel {
  private readonly entries = new Map<string, JobEntry>();
  private readonly errorRefreshes = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly jobChanges = new Listeners<string>();
  private readonly listChanges = new Listeners<void>();
  private client: DaemonClient | null = null;
  /** Reading the list on the current connection (once per connection). */
  private attached: Promise<void> = Promise.resolve();
  private loaded = false;
  private readonly unsubscribe: { dispose(): void };

  /** One job's numbers or state changed (the tree refreshes just that node). */
  readonly onDidChangeJob = this.jobChanges.event;
  /** Jobs came or went, or the whole list was re-read. */
  readonly onDidChangeJobs = this.listChanges.event;

  constructor(
    private readonly connection: DaemonConnection,
    private readonly options: JobsModelOptions,
  ) {
    this.unsubscribe = connection.onDidConnect((client) => void this.attachOnce(client));
  }

  /** Whether the list has been read from a daemon since this window started. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  jobs(): JobEntry[] {
    return [...this.entries.values()].sort(byActivityThenRecency);
  }

  get(jobId: string): JobEntry | undefined {
    return this.entries.get(jobId);
  }

  /** Connects (starting a daemon if need be) and reads the list; a reconnect re-reads it by itself. */
  async load(): Promise<void> {
    await this.attachOnce(await this.connection.client());
  }

  /** Reads one job again (after a command changed it, or when its state changed). */
  async refreshJob(jobId: string): Promise<JobEntry | undefined> {
    const client = this.client;
    if (!client || this.options.isHidden(jobId)) return undefined;
    let detail: RpcResult<'job.get'>;
    try {
      detail = await client.call('job.get', { jobId });
    } catch (error) {
      this.options.onProblem(`cannot read job ${jobId}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
    const known = this.entries.get(jobId);
    const entry: JobEntry = known ?? { info: detail.info, progress: null, errors: [], history: [] };
    entry.info = detail.info;
    entry.errors = detail.errors;
    if (detail.progress) this.applyProgress(entry, detail.progress);
    this.entries.set(jobId, entry);
    if (known) this.jobChanges.fire(jobId);
    else this.listChanges.fire();
    return entry;
  }

  dispose(): void {
    this.unsubscribe.dispose();
    for (const timer of this.errorRefreshes.values()) clearTimeout(timer);
    this.jobChanges.dispose();
    this.listChanges.dispose();
  }

  private attachOnce(client: DaemonClient): Promise<void> {
    if (this.client !== client) {
      this.client = client;
      this.attached = this.attach(client);
    }
    return this.attached;
  }

  private async attach(client: DaemonClient): Promise<void> {
    client.on('job.progress', (progress) => this.onProgress(progress));
    client.on('job.state', (state) => void this.onState(state));
    client.on('job.error', (group) => this.scheduleErrorRefresh(group.jobId));
    try {
      const { jobs } = await client.call('job.list', {});
      const visible = jobs.filter((info) => !this.options.isHidden(info.jobId));
      const listed = new Set(visible.map((info) => info.jobId));
      for (const jobId of this.entries.keys()) if (!listed.has(jobId)) this.entries.delete(jobId);
      await Promise.all(visible.map((info) => this.subscribe(client, info)));
      this.loaded = true;
      this.listChanges.fire();
      // Error classes of jobs that already failed some records, for the tree's children.
      for (const info of visible) if (info.records.failed > 0 || info.status === 'paused') this.scheduleErrorRefresh(info.jobId, 0);
    } catch (error) {
      this.options.onProblem(`cannot list the daemon's jobs: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async subscribe(client: DaemonClient, info: JobInfo): Promise<void> {
    const { info: current, progress } = await client.call('job.subscribe', { jobId: info.jobId });
    const entry = this.entries.get(info.jobId) ?? { info: current, progress: null, errors: [], history: [] };
    entry.info = current;
    if (progress) this.applyProgress(entry, progress);
    this.entries.set(info.jobId, entry);
  }

  private onProgress(progress: JobProgress): void {
    const entry = this.entries.get(progress.jobId);
    if (!entry) return;
    this.applyProgress(entry, progress);
    this.jobChanges.fire(progress.jobId);
  }

  private applyProgress(entry: JobEntry, progress: JobProgress): void {
    entry.progress = progress;
    entry.info = {
      ...entry.info,
      status: progress.status,
      statusReason: progress.statusReason,
      records: { total: progress.records.total, totalExact: progress.records.totalExact, done: progress.records.done, failed: progress.records.failed },
      tokens: progress.tokens,
      costUsd: progress.costUsd,
    };
    entry.history = appendPoint(entry.history, pointFrom(progress));
  }

  private async onState(state: JobState): Promise<void> {
    if (this.options.isHidden(state.jobId)) return;
    if (state.status === 'deleted') {
      if (this.entries.delete(state.jobId)) this.listChanges.fire();
      return;
    }
    const entry = this.entries.get(state.jobId);
    if (!entry) {
      // A job started by another window, the CLI, or this window a moment ago.
      const client = this.client;
      if (!client) return;
      try {
        await client.call('job.subscribe', { jobId: state.jobId });
      } catch (error) {
        this.options.onProblem(`cannot follow job ${state.jobId}: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      await this.refreshJob(state.jobId);
      return;
    }
    entry.info = { ...entry.info, status: state.status, statusReason: state.statusReason, active: state.active };
    if (state.progress) this.applyProgress(entry, state.progress);
    // A resumed job reports its first numbers a moment later: until then its last progress
    // must not go on saying it is paused.
    else if (entry.progress) entry.progress = { ...entry.progress, status: state.status, statusReason: state.statusReason, pauseClass: state.pauseClass };
    this.jobChanges.fire(state.jobId);
    // The ledger has the final counts and error classes once a run stops.
    if (!state.active) await this.refreshJob(state.jobId);
  }

  private scheduleErrorRefresh(jobId: string, delayMs = this.options.errorRefreshMs ?? 1000): void {
    if (this.errorRefreshes.has(jobId) || !this.entries.has(jobId)) return;
    this.errorRefreshes.set(
      jobId,
      setTimeout(() => {
        this.errorRefreshes.delete(jobId);
        void this.refreshJob(jobId);
      }, delayMs),
    );
  }
}

function byActivityThenRecency(a: JobEntry, b: JobEntry): number {
  if (a.info.active !== b.info.active) return a.info.active ? -1 : 1;
  return b.info.updatedAt.localeCompare(a.info.updatedAt);
}
