// The parts every run of a job is made of — admission, budget, endpoints, executor,
// preparer, progress — built the same way whichever ledger the job keeps (its own SQLite
// file, or the Postgres ledger several workers share).
import type { AttemptLedger, PreparerLedger, ProgressLedger } from '../ledger/ledgerViews';
import type { AdmissionControl } from '../limits/admissionControl';
import { Budget } from '../limits/budget';
import type { Clock } from '../limits/clock';
import { EndpointRouter } from '../provider/endpointRouter';
import { ProviderClient } from '../provider/providerClient';
import { compileTemplate } from '../sources/template';
import type { JobSpec } from '../spec/jobSpec';
import { tokenizerFor } from '../tokens/tokenizer';
import { BatchExecutor, type StopRequest } from './batchExecutor';
import type { InFlight } from './inFlight';
import { openJobAdmission } from './jobAdmission';
import { configHash, resolveEndpoints } from './jobSetup';
import { answerTokensPerRecord, compileOutputSchema } from './outputSchema';
import { ProgressTracker } from './progressTracker';
import { RecordPreparer } from './recordPreparer';
import { RequestBuilder } from './requestBuilder';

export interface EngineOptions {
  secrets?: Readonly<Record<string, string>>;
  env?: Readonly<Record<string, string | undefined>>;
  rateWindowMs?: number;
  probeIntervalMs?: number;
  retryFailed?: boolean;
  endpointDownAfterMs?: number;
}

export interface EngineControls {
  jobId: string;
  clock: Clock;
  stopSignal: AbortSignal;
  abortSignal: AbortSignal;
  inFlight: InFlight;
  requestStop(stop: StopRequest): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface EngineParts {
  builder: RequestBuilder;
  configHash: string;
  clients: ProviderClient[];
  admission: AdmissionControl;
  budget: Budget;
  router: EndpointRouter;
  executor: BatchExecutor;
  preparer: RecordPreparer;
  progress: ProgressTracker;
}

/** Checks the spec's template, schema and keys; throws a JobSetupError before anything is opened. */
export function resolveJob(spec: JobSpec, options: EngineOptions) {
  return {
    validator: compileOutputSchema(spec.output),
    template: compileTemplate(spec.prompt.template),
    tokenizer: tokenizerFor(spec.model),
    endpoints: resolveEndpoints(spec, options.secrets ?? {}, options.env ?? process.env),
    configHash: configHash(spec),
  };
}

/** The parts of a run; the caller closes `admission` (a shared limit holds a Redis connection) and the clients. */
export async function buildEngine(
  spec: JobSpec,
  options: EngineOptions,
  controls: EngineControls,
  ledger: AttemptLedger & PreparerLedger & ProgressLedger,
  resolved: ReturnType<typeof resolveJob>,
  /** Since the job last sent a request (a resumed run's buckets start with only what refilled). */
  quietMs: number | undefined,
): Promise<EngineParts> {
  const { validator, template, tokenizer, endpoints } = resolved;
  const builder = new RequestBuilder(spec, tokenizer);
  const clients = endpoints.map((endpoint) => new ProviderClient(endpoint, { connections: spec.limits.concurrency, ...spec.provider }));
  const perRecord = answerTokensPerRecord(spec.output, tokenizer);
  const executorLimits = spec.batching.maxOutputTokens ?? Math.ceil(perRecord * spec.batching.recordsPerRequest) + 16;
  const admission = await openJobAdmission(spec, {
    endpoint: endpoints[0],
    largestRequestTokens: spec.batching.maxPromptTokens + executorLimits,
    windowMs: options.rateWindowMs ?? 60_000,
    clock: controls.clock,
    quietMs,
    log: (level, message) => controls.log(level, message),
    env: options.env ?? process.env,
  });
  const budget = new Budget(spec.limits.budgetUsd, ledger.job()?.costUsd ?? 0);
  const router = new EndpointRouter(
    clients.map((client, index) => ({ client, model: endpoints[index]?.model ?? spec.model })),
    controls.clock,
    { onSwitch: (from, to, reason) => controls.log('warn', `switching from ${from.client.endpoint.baseUrl} to ${to.client.endpoint.baseUrl}: ${reason}`) },
    3,
    options.probeIntervalMs,
  );
  const executor = new BatchExecutor({
    spec, ledger, builder, validator, admission, budget, router, clock: controls.clock,
    answerTokensPerRecord: perRecord,
    stopSignal: controls.stopSignal,
    abortSignal: controls.abortSignal,
    inFlight: controls.inFlight,
    endpointDownAfterMs: options.endpointDownAfterMs ?? 60_000,
    requestStop: (stop) => controls.requestStop(stop),
  });
  const preparer = new RecordPreparer({
    ledger, template, tokenizer, configHash: resolved.configHash,
    maxPromptTokens: spec.batching.maxPromptTokens,
    overheadTokens: builder.overheadTokens,
    oversize: spec.batching.oversize,
    maxAttempts: spec.retry.maxAttempts,
    useCache: spec.cache,
    retryFailed: options.retryFailed ?? false,
  });
  const progress = new ProgressTracker(controls.jobId, ledger, admission, budget, router, controls.clock, () => controls.inFlight.count);
  return { builder, configHash: resolved.configHash, clients, admission, budget, router, executor, preparer, progress };
}
