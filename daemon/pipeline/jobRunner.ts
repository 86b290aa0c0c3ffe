// Runs one job: streams the source through preparation and packing into batches, sends
// them through admission to the provider, commits every outcome to the ledger, feeds the
// sink, and stops cleanly (pause, budget, a job-fatal error, cancel) with nothing lost.
import { setMaxListeners } from 'node:events';
import { Ledger } from '../ledger/ledger';
import { acquireRunLock, JobLockedError, type RunLock } from '../ledger/runLock';
import type { AdmissionControl } from '../limits/admissionControl';
import { Budget } from '../limits/budget';
import { systemClock, type Clock } from '../limits/clock';
import { jobSummaryOf, type JobErrorEvent, type JobLogEvent, type JobProgress, type JobSummary } from '../protocol/jobProgress';
import { EndpointRouter } from '../provider/endpointRouter';
import { ProviderClient } from '../provider/providerClient';
import { openSink } from '../sinks/openSink';
import { SinkFeeder } from '../sinks/sinkFeeder';
import { openSource } from '../sources/openSource';
import type { RecordSource } from '../sources/source';
import { compileTemplate } from '../sources/template';
import type { JobSpec } from '../spec/jobSpec';
import { tokenizerFor } from '../tokens/tokenizer';
import { BatchExecutor, type StopRequest } from './batchExecutor';
import { InFlight } from './inFlight';
import { openJobAdmission } from './jobAdmission';
import { configHash, JobSetupError, resolveEndpoints } from './jobSetup';
import { answerTokensPerRecord, compileOutputSchema } from './outputSchema';
import { ProgressTracker } from './progressTracker';
import { RecordPreparer } from './recordPreparer';
import { RunLoop } from './runLoop';
import { RequestBuilder } from './requestBuilder';
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
      return await this.runLocked();
    } finally {
      lock.release();
    }
  }

  private async runLocked(): Promise<JobSummary> {
    const { spec, options } = this;
    const validator = compileOutputSchema(spec.output);
    const template = compileTemplate(spec.prompt.template);
    const tokenizer = tokenizerFor(spec.model);
    const endpoints = resolveEndpoints(spec, options.secrets ?? {}, options.env ?? process.env);
    const builder = new RequestBuilder(spec, tokenizer);
    const hash = configHash(spec);

    const ledger = Ledger.open(options.stateDir, spec.name);
    let source: RecordSource | undefined;
    let feeder: SinkFeeder | undefined;
    let counting = true;
    let admission: AdmissionControl | undefined;
    const clients = endpoints.map((endpoint) => new ProviderClient(endpoint, { connections: spec.limits.concurrency, ...spec.provider }));
    try {
      const previous = ledger.job();
      const resumable = previous && (previous.status === 'running' || previous.status === 'paused');
      const after = resumable && previous.watermarkConfigHash === hash ? (previous.watermark ?? undefined) : undefined;
      ledger.upsertJob(spec.name, JSON.stringify(spec), hash);
      if (!after) ledger.clearWatermark();
      ledger.setStatus('running', null);

      source = await openSource(spec.source);
      if (spec.sink) feeder = await SinkFeeder.open(ledger, await openSink(spec.sink, spec));

      const perRecord = answerTokensPerRecord(spec.output, tokenizer);
      const executorLimits = spec.batching.maxOutputTokens ?? Math.ceil(perRecord * spec.batching.recordsPerRequest) + 16;
      admission = await openJobAdmission(spec, {
        endpoint: endpoints[0],
        largestRequestTokens: spec.batching.maxPromptTokens + executorLimits,
        windowMs: options.rateWindowMs ?? 60_000,
        clock: this.clock,
        quietMs: previous ? Date.now() - Date.parse(previous.updatedAt) : undefined,
        log: (level, message) => this.log(level, message),
        env: options.env ?? process.env,
      });
      const job = ledger.job();
      const budget = new Budget(spec.limits.budgetUsd, job?.costUsd ?? 0);
      const router = new EndpointRouter(
        clients.map((client, index) => ({ client, model: endpoints[index]?.model ?? spec.model })),
        this.clock,
        { onSwitch: (from, to, reason) => this.log('warn', `switching from ${from.client.endpoint.baseUrl} to ${to.client.endpoint.baseUrl}: ${reason}`) },
        3,
        options.probeIntervalMs,
      );
      const executor = new BatchExecutor({
        spec, ledger, builder, validator, admission, budget, router, clock: this.clock,
        answerTokensPerRecord: perRecord,
        stopSignal: this.stopController.signal,
        abortSignal: this.abortController.signal,
        inFlight: this.inFlight,
        endpointDownAfterMs: options.endpointDownAfterMs ?? 60_000,
        requestStop: (stop) => this.requestStop(stop),
      });
      const preparer = new RecordPreparer({
        ledger, template, tokenizer, configHash: hash,
        maxPromptTokens: spec.batching.maxPromptTokens,
        overheadTokens: builder.overheadTokens,
        oversize: spec.batching.oversize,
        maxAttempts: spec.retry.maxAttempts,
        useCache: spec.cache,
        retryFailed: options.retryFailed ?? false,
      });
      const progress = new ProgressTracker(this.jobId, ledger, admission, budget, router, this.clock, () => this.inFlight.count);
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
      await loop.run(after);
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
