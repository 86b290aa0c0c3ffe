// Runs one job: streams the source through preparation and packing into batches, sends
// them through admission to the provider, commits every outcome to the ledger, feeds the
// sink, and stops cleanly (pause, budget, a job-fatal error, cancel) with nothing lost.
import { setMaxListeners } from 'node:events';
import { createBatchModeRun } from '../batch/batchModeSetup';
import { Ledger } from '../ledger/ledger';
import { acquireRunLock, JobLockedError, type RunLock } from '../ledger/runLock';
import type { AdmissionControl } from '../limits/admissionControl';
import { systemClock, type Clock } from '../limits/clock';
import { jobSummaryOf, type JobErrorEvent, type JobLogEvent, type JobProgress, type JobSummary } from '../protocol/jobProgress';
import type { ProviderClient } from '../provider/providerClient';
import { runOnSharedLedger } from '../sharedLedger/sharedJobRun';
import { openSink } from '../sinks/openSink';
import { SinkFeeder } from '../sinks/sinkFeeder';
import { openSource } from '../sources/openSource';
import type { RecordSource } from '../sources/source';
import type { JobSpec } from '../spec/jobSpec';
import type { StopRequest } from './batchExecutor';
import { buildEngine, type EngineControls, resolveJob } from './engineParts';
import { InFlight } from './inFlight';
import { JobSetupError } from './jobSetup';
import type { ProgressTracker } from './progressTracker';
import { RunLoop } from './runLoop';
import { Watermark } from './watermark';

export interface RunnerListener {
  progress?(progress: JobProgress): void;
  log?(event: JobLogEvent): void;
  error?(event: JobErrorEvent): void;
}

export interface RunnerOptions {
  stateDir: string;
  /** API keys by provider base URL, held in memory only (from the editor's secret storage). */
  secrets?: Readonly<Record<string, string>>;
  env?: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  /** The provider's limit window; 60 s everywhere but in tests. */
  rateWindowMs?: number;
  /** How often a failed primary endpoint is probed; 30 s everywhere but in tests. */
  probeIntervalMs?: number;
  /** Send records that failed in an earlier run again. */
  retryFailed?: boolean;
  progressIntervalMs?: number;
  /** How long a pause waits for requests in flight before aborting them. */
  drainTimeoutMs?: number;
  /** How long an endpoint that answered before may fail every request before the job pauses; 60 s but in tests. */
  endpointDownAfterMs?: number;
  listener?: RunnerListener;
}

const tickMs = 100;

export class JobRunner {
  readonly jobId: string;
  private readonly clock: Clock;
  private stopRequest: StopRequest | null = null;
  private readonly stopController = new AbortController();
  private readonly abortController = new AbortController();
  private readonly inFlight = new InFlight();

  constructor(
    private readonly spec: JobSpec,
    private readonly options: RunnerOptions,
  ) {
    this.jobId = spec.name;
    this.clock = options.clock ?? systemClock;
    // Every request in flight and every batch waiting for admission listens to these.
    const listeners = spec.limits.concurrency * 2 + 16;
    setMaxListeners(listeners, this.stopController.signal, this.abortController.signal);
  }

  /** Stops admitting, lets requests in flight finish, and leaves the job paused. */
  pause(reason = 'paused by the user'): void {
    this.requestStop({ kind: 'user', errorClass: null, message: reason });
  }

  /** Stops requests in flight now instead of waiting for them (a second Ctrl-C). */
  abortInFlight(): void {
    this.pause();
    this.abortController.abort(new Error('stopped by the user'));
  }

  cancel(): void {
    this.requestStop({ kind: 'cancel', errorClass: null, message: 'cancelled by the user' });
    this.abortController.abort(new Error('cancelled'));
  }

  async run(): Promise<JobSummary> {
    let lock: RunLock;
    try {
      lock = acquireRunLock(this.options.stateDir, this.spec.name);
    } catch (error) {
      // Another run of this job holds its ledger: the user must wait for it or pause it.
      if (error instanceof JobLockedError) throw new JobSetupError(error.message);
      throw error;
    }
    try {
      // A shared ledger is run by several workers (each with a lock on its own state dir).
      if (this.spec.ledger) return await runOnSharedLedger(this, this.spec, this.spec.ledger, this.options, this.controls);
      return await this.runLocked();
    } finally {
      lock.release();
    }
  }

  private async runLocked(): Promise<JobSummary> {
    const { spec, options } = this;
    const resolved = resolveJob(spec, options);
    const hash = resolved.configHash;

    const ledger = Ledger.open(options.stateDir, spec.name);
    let source: RecordSource | undefined;
    let feeder: SinkFeeder | undefined;
    let counting = true;
    let clients: ProviderClient[] = [];
    let admission: AdmissionControl | undefined;
    try {
      const previous = ledger.job();
      const resumable = previous && (previous.status === 'running' || previous.status === 'paused');
      // Batch mode keeps no watermark: each run reads the whole source (see daemon/batch/).
      const after = spec.mode === 'online' && resumable && previous.watermarkConfigHash === hash ? (previous.watermark ?? undefined) : undefined;
      ledger.upsertJob(spec.name, JSON.stringify(spec), hash);
      if (!after) ledger.clearWatermark();
      ledger.setStatus('running', null);

      const engine = await buildEngine(spec, options, this.controls, ledger, resolved, previous ? Date.now() - Date.parse(previous.updatedAt) : undefined);
      clients = engine.clients;
      admission = engine.admission;
      const { executor, preparer, progress, builder, budget } = engine;
      source = await openSource(spec.source);
      if (spec.sink) feeder = await SinkFeeder.open(ledger, await openSink(spec.sink, spec));
      if (after) this.log('info', `resuming after record ${String(after.key ?? after.ordinal)}`);

      const loop = new RunLoop(this, {
        spec, ledger, executor, preparer, progress, feeder, source,
        watermark: new Watermark(after ?? null),
        overheadTokens: builder.overheadTokens,
        inFlight: this.inFlight,
      });
      // Counting runs beside the job; if the job ends first, it knows the total itself.
      void source.count(this.stopController.signal).then(
        (count) => {
          if (!counting) return;
          ledger.setTotal(count.total, count.exact);
          progress.setTotal(count.total, count.exact);
        },
        (error: unknown) => {
          if (counting) this.log('warn', `could not count the source's records: ${String(error)}`);
        },
      );
      if (spec.mode === 'batch') {
        // Batch mode reads the whole source each run: finished records are skipped by the
        // ledger, and records inside a provider's batch are picked up from it.
        await createBatchModeRun(this, {
          spec, ledger, source, preparer, progress, feeder, executor, budget, builder,
          validator: resolved.validator,
          stateDir: options.stateDir,
          endpoint: resolved.endpoints[0],
        }).run();
      } else {
        await loop.run(after);
      }
      counting = false;
      return this.finish(ledger, progress);
    } catch (error) {
      if (ledger.job()?.status === 'running') {
        const reason = error instanceof JobSetupError ? error.message : `internal error: ${error instanceof Error ? error.message : String(error)}`;
        ledger.setStatus('paused', reason);
      }
      throw error;
    } finally {
      counting = false;
      this.stopController.abort();
      await feeder?.close().catch((error: unknown) => this.log('error', `sink: ${String(error)}`));
      await source?.close().catch(() => undefined);
      await Promise.all(clients.map((client) => client.close()));
      await admission?.close();
      ledger.close();
    }
  }

  private finish(ledger: Ledger, progress: ProgressTracker): JobSummary {
    const stop = this.stopRequest;
    ledger.addElapsed(progress.finishRun());
    if (!stop) {
      const { done, failed } = progress.counts;
      // Every record was read: the total is now known exactly, whatever the estimate said.
      ledger.setTotal(done + failed, true);
      progress.setTotal(done + failed, true);
      ledger.setStatus('done', failed > 0 ? `${failed} records failed` : null);
    } else if (stop.kind === 'cancel') {
      ledger.setStatus('cancelled', stop.message);
    } else {
      ledger.setStatus('paused', stop.message);
    }
    const final = progress.snapshot(ledger.job(), stop ? (stop.errorClass ?? stop.kind) : null);
    this.options.listener?.progress?.(final);
    return jobSummaryOf(final);
  }

  // --- used by the run loop -------------------------------------------------------------

  get controls(): EngineControls {
    return {
      jobId: this.jobId,
      clock: this.clock,
      stopSignal: this.stopController.signal,
      abortSignal: this.abortController.signal,
      inFlight: this.inFlight,
      requestStop: (stop) => this.requestStop(stop),
      log: (level, message) => this.log(level, message),
    };
  }

  get stopping(): StopRequest | null {
    return this.stopRequest;
  }

  get signals(): { stop: AbortSignal } {
    return { stop: this.stopController.signal };
  }

  requestStop(request: StopRequest): void {
    if (this.stopRequest) return;
    this.stopRequest = request;
    if (request.kind !== 'user') this.log(request.kind === 'budget' ? 'warn' : 'error', request.message);
    this.stopController.abort(new Error(request.message));
    const deadline = request.kind === 'cancel' ? 0 : (this.options.drainTimeoutMs ?? 30_000);
    const timer = setTimeout(() => this.abortController.abort(new Error('drain deadline passed')), deadline);
    timer.unref();
  }

  log(level: JobLogEvent['level'], message: string): void {
    this.options.listener?.log?.({ jobId: this.jobId, level, message });
  }

  reportError(event: Omit<JobErrorEvent, 'jobId'>): void {
    this.options.listener?.error?.({ jobId: this.jobId, ...event });
  }

  emitProgress(progress: JobProgress): void {
    this.options.listener?.progress?.(progress);
  }

  get progressIntervalMs(): number {
    return this.options.progressIntervalMs ?? tickMs;
  }
}
