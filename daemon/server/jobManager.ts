// Owns the jobs the daemon runs: starts, pauses, resumes and cancels them on the engine,
// keeps their API keys in memory only, reports their events, brings back after a restart
// the jobs a crash or a shutdown interrupted, and drains them all when the daemon stops.
import { rmSync } from 'node:fs';
import { Ledger, jobDirectory, type JobStatus } from '../ledger/ledger';
import { JobSetupError, resolveEndpoints } from '../pipeline/jobSetup';
import type { JobProgress } from '../protocol/jobProgress';
import { rpcErrorCode, type JobInfo, type JobState, type RpcResult } from '../protocol/rpc';
import type { JobSpec } from '../spec/jobSpec';
import { validateSpec } from '../spec/loadSpec';
import type { DaemonLog } from './daemonLog';
import { JobCatalog, type LiveJob } from './jobCatalog';
import type { JobEvents } from './jobEvents';
import { OwnedJobs } from './ownedJobs';
import type { Redactor } from './redactor';
import { RpcError } from './rpcError';
import { RunningJob } from './runningJob';
import { preflight } from './specInput';

export interface JobManagerOptions {
  stateDir: string;
  env: Readonly<Record<string, string | undefined>>;
  events: JobEvents;
  log: DaemonLog;
  redactor: Redactor;
  /** How often the engine reports progress; clients still get at most 10 a second. */
  engineTickMs: number;
  /** Called whenever the number of running jobs changes. */
  onActivity(): void;
}

const shutdownReason = 'paused because the daemon stopped; it resumes when the daemon starts again';

export class JobManager {
  readonly catalog: JobCatalog;
  private readonly running = new Map<string, RunningJob>();
  /** The last numbers of jobs that ran since the daemon started, for job.get afterwards. */
  private readonly lastProgress = new Map<string, JobProgress>();
  /** API keys handed over by clients, by job: memory only, never written anywhere. */
  private readonly secrets = new Map<string, Record<string, string>>();
  private readonly owned: OwnedJobs;
  private admitting = true;

  constructor(private readonly options: JobManagerOptions) {
    this.catalog = new JobCatalog(options.stateDir, (text) => options.redactor.redact(text));
    this.owned = new OwnedJobs(options.stateDir);
  }

  get activeCount(): number {
    return this.running.size;
  }

  info(jobId: string): JobInfo {
    return this.catalog.info(jobId, this.live(jobId));
  }

  list(): JobInfo[] {
    return this.catalog.list(this.running, (jobId, error) => this.options.log.warn('cannot read a ledger', { job: jobId, error: String(error) }));
  }

  detail(jobId: string): RpcResult<'job.get'> {
    return { ...this.catalog.detail(jobId, this.live(jobId)), progress: this.latestProgress(jobId) };
  }

  latestProgress(jobId: string): JobProgress | null {
    return this.running.get(jobId)?.progress ?? this.lastProgress.get(jobId) ?? null;
  }

  async start(spec: JobSpec, secrets: Record<string, string>, retryFailed: boolean): Promise<JobInfo> {
    this.assertAdmitting();
    this.assertNotRunning(spec.name);
    await preflight(spec, secrets, this.options.env);
    this.assertAdmitting();
    this.assertNotRunning(spec.name);
    this.secrets.set(spec.name, { ...secrets });
    this.launch(spec, retryFailed);
    return this.info(spec.name);
  }

  async resume(jobId: string, secrets: Record<string, string>, retryFailed: boolean): Promise<JobInfo> {
    this.assertAdmitting();
    this.assertNotRunning(jobId);
    const spec = this.storedSpec(jobId);
    const keys = { ...this.secrets.get(jobId), ...secrets };
    await preflight(spec, keys, this.options.env);
    this.assertAdmitting();
    this.assertNotRunning(jobId);
    this.secrets.set(jobId, keys);
    this.launch(spec, retryFailed);
    return this.info(jobId);
  }

  pause(jobId: string): JobInfo {
    const job = this.running.get(jobId);
    if (!job) throw this.notRunning(jobId);
    job.pause('paused by the user');
    return this.info(jobId);
  }

  cancel(jobId: string): JobInfo {
    const job = this.running.get(jobId);
    if (job) {
      job.cancel();
      return this.info(jobId);
    }
    const status = this.catalog.withLedger(jobId, (_ledger, row) => row.status);
    if (status === 'done' || status === 'cancelled') throw this.notRunning(jobId);
    this.writeStatus(jobId, 'cancelled', 'cancelled by the user');
    this.owned.remove(jobId);
    this.announce(jobId, null);
    return this.info(jobId);
  }

  /** Removes a job that is not running, ledger and all. */
  delete(jobId: string): void {
    this.assertNotRunning(jobId);
    if (!this.catalog.exists(jobId)) throw new RpcError(rpcErrorCode.jobNotFound, `no job named "${jobId}"`);
    rmSync(jobDirectory(this.options.stateDir, jobId), { recursive: true, force: true });
    this.secrets.delete(jobId);
    this.lastProgress.delete(jobId);
    this.owned.remove(jobId);
    this.options.events.state({ jobId, status: 'deleted', statusReason: null, active: false, pauseClass: null, progress: null });
  }

  /**
   * After a restart: jobs the previous daemon was running come back — at once when every
   * key they need is in the environment (or they need none), otherwise paused, waiting
   * for a client to resume them with their keys.
   */
  restore(): void {
    for (const jobId of this.owned.list()) {
      try {
        this.restoreOne(jobId);
      } catch (error) {
        this.owned.remove(jobId);
        this.options.log.error('could not bring back a job', { job: jobId, error: String(error) });
      }
    }
  }

  /** Stops admitting, pauses every job, waits for them to checkpoint; aborts what is left at the deadline. */
  async shutdown(drainMs: number): Promise<void> {
    this.admitting = false;
    const jobs = [...this.running.values()];
    for (const job of jobs) {
      job.stoppedByShutdown = true;
      job.pause(shutdownReason);
    }
    const deadline = setTimeout(() => this.abortInFlight(), drainMs);
    try {
      await Promise.all(jobs.map((job) => job.finished));
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Ends requests in flight now (a second signal, or the drain deadline). */
  abortInFlight(): void {
    for (const job of this.running.values()) job.abortInFlight();
  }

  private restoreOne(jobId: string): void {
    if (!this.catalog.exists(jobId)) {
      this.owned.remove(jobId);
      return;
    }
    const status = this.catalog.withLedger(jobId, (_ledger, row) => row.status);
    if (status === 'done' || status === 'cancelled') {
      this.owned.remove(jobId);
      return;
    }
    const spec = this.storedSpec(jobId);
    try {
      resolveEndpoints(spec, {}, this.options.env);
    } catch (error) {
      if (!(error instanceof JobSetupError)) throw error;
      this.writeStatus(jobId, 'paused', `interrupted when the daemon stopped; resume it with its API key. ${error.message}`);
      this.owned.remove(jobId);
      this.options.log.info('job interrupted by the last shutdown waits for its API key', { job: jobId });
      this.announce(jobId, null);
      return;
    }
    this.options.log.info(status === 'running' ? 'resuming a job the last daemon did not finish (crash)' : 'resuming a job paused by the last shutdown', { job: jobId });
    this.launch(spec, false);
  }

  private launch(spec: JobSpec, retryFailed: boolean): void {
    const { options } = this;
    const jobId = spec.name;
    const secrets = this.secrets.get(jobId) ?? {};
    this.holdKeys(spec, secrets);
    const job: RunningJob = new RunningJob(spec, {
      stateDir: options.stateDir,
      env: options.env,
      secrets,
      retryFailed,
      engineTickMs: options.engineTickMs,
      events: options.events,
      log: options.log,
      onStopped: (failure) => {
        try {
          this.settle(jobId, job, failure);
        } catch (error) {
          options.log.error('internal error after a job stopped', { job: jobId, error: String(error) });
        }
      },
    });
    this.running.set(jobId, job);
    this.owned.add(jobId);
    this.announce(jobId, job);
    options.onActivity();
  }

  private settle(jobId: string, job: RunningJob, failure: string | null): void {
    this.running.delete(jobId);
    // A worker that died (out of memory) leaves its ledger saying running: say why it stopped.
    if (failure !== null && this.catalog.exists(jobId)) this.writeStatus(jobId, 'paused', failure, 'running');
    if (job.progress) this.lastProgress.set(jobId, job.progress);
    if (!job.stoppedByShutdown) this.owned.remove(jobId);
    this.announce(jobId, null, failure);
    this.options.onActivity();
  }

  /** Sets a stopped job's status in its ledger (only from `onlyFrom`, when given). */
  private writeStatus(jobId: string, status: JobStatus, reason: string, onlyFrom?: JobStatus): void {
    const ledger = Ledger.open(this.options.stateDir, jobId);
    try {
      if (onlyFrom === undefined || ledger.job()?.status === onlyFrom) ledger.setStatus(status, reason);
    } finally {
      ledger.close();
    }
  }

  /**
   * Tells every client the job's status as the ledger now has it. A job whose worker died
   * before it wrote a ledger has none: it is announced stopped, with the reason.
   */
  private announce(jobId: string, running: RunningJob | null, failure: string | null = null): void {
    const progress = running ? null : (this.lastProgress.get(jobId) ?? null);
    let state: JobState;
    try {
      const info = this.catalog.info(jobId, running ?? undefined);
      state = {
        jobId,
        status: info.status,
        statusReason: info.statusReason,
        active: info.active,
        pauseClass: info.status === 'paused' ? (progress?.pauseClass ?? null) : null,
        progress,
      };
    } catch (error) {
      if (running) this.options.log.warn('cannot read the job to announce its state', { job: jobId, error: String(error) });
      state = { jobId, status: 'paused', statusReason: failure ?? String(error), active: false, pauseClass: 'internal', progress };
    }
    this.options.events.state(state);
  }

  private holdKeys(spec: JobSpec, secrets: Record<string, string>): void {
    const { redactor, env } = this.options;
    for (const key of Object.values(secrets)) redactor.hold(key);
    for (const endpoint of [spec.provider, ...spec.provider.fallbacks]) redactor.hold(env[endpoint.apiKeyEnv]);
  }

  private storedSpec(jobId: string): JobSpec {
    const specJson = this.catalog.withLedger(jobId, (_ledger, row) => row.specJson);
    return validateSpec(JSON.parse(specJson), `the stored spec of job "${jobId}"`);
  }

  private live(jobId: string): LiveJob | undefined {
    return this.running.get(jobId);
  }

  private assertAdmitting(): void {
    if (!this.admitting) throw new RpcError(rpcErrorCode.shuttingDown, 'the daemon is shutting down and admits no job');
  }

  private assertNotRunning(jobId: string): void {
    if (this.running.has(jobId)) throw new RpcError(rpcErrorCode.jobRunning, `job "${jobId}" is already running in the daemon`);
  }

  private notRunning(jobId: string): RpcError {
    if (!this.catalog.exists(jobId)) return new RpcError(rpcErrorCode.jobNotFound, `no job named "${jobId}"`);
    return new RpcError(rpcErrorCode.jobNotRunning, `job "${jobId}" is not running`);
  }
}
