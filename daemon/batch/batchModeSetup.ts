// Builds a batch-mode run from the parts an online run has (ledger, preparer, executor,
// budget, …) plus the provider's batch API. The one place that chooses the provider's
// implementation: Anthropic's Message Batches for an anthropic endpoint, OpenAI's Batch API
// for every OpenAI-compatible one.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { batchPrice, priceFor } from '../cost/prices';
import { jobDirectory } from '../ledger/ledger';
import type { ResolvedEndpoint } from '../pipeline/jobSetup';
import type { JobRunner } from '../pipeline/jobRunner';
import type { OutputValidator } from '../pipeline/outputSchema';
import type { RequestBuilder } from '../pipeline/requestBuilder';
import { AnthropicBatchApi } from './anthropicBatchApi';
import type { BatchApi } from './batchApi';
import { BatchFileWriter } from './batchFileWriter';
import { BatchJoiner } from './batchJoiner';
import { BatchModeRun, type BatchRunParts } from './batchModeRun';
import { BatchSubmitter } from './batchSubmitter';
import { OnlineFallback } from './onlineFallback';
import { OpenAiBatchApi } from './openAiBatchApi';

export interface BatchModeInputs extends Omit<BatchRunParts, 'api' | 'submitter' | 'joiner' | 'online'> {
  stateDir: string;
  endpoint: ResolvedEndpoint;
  builder: RequestBuilder;
  validator: OutputValidator;
}

function batchApiFor(endpoint: ResolvedEndpoint, requestTimeoutMs: number, ledger: BatchModeInputs['ledger']): BatchApi {
  if (endpoint.api !== 'anthropic') return new OpenAiBatchApi(endpoint, requestTimeoutMs);
  // Names this ledger's job for as long as it lives (wherever its folder moves), so its
  // custom_ids are its own among every batch in the workspace.
  const job = ledger.job();
  const tag = createHash('sha256').update(`${job?.name ?? ''}\n${job?.createdAt ?? ''}`).digest('hex').slice(0, 12);
  return new AnthropicBatchApi(endpoint, requestTimeoutMs, tag);
}

export function createBatchModeRun(runner: JobRunner, inputs: BatchModeInputs): BatchModeRun {
  const { spec, ledger, builder, executor, budget, endpoint } = inputs;
  const api = batchApiFor(endpoint, spec.provider.requestTimeoutMs, ledger);
  const price = batchPrice(priceFor(endpoint.model, spec.prices));
  const maxOutputTokens = (records: number) => executor.maxOutputTokens(records, 1);
  const writer = new BatchFileWriter({
    builder,
    model: endpoint.model,
    price,
    maxOutputTokens,
    encodeLine: (customId, body) => api.encodeLine(customId, body),
    limits: {
      // The spec may ask for smaller files than the provider allows, never larger.
      maxRequestsPerFile: Math.min(spec.batch.maxRequestsPerFile, api.limits.maxRequestsPerFile),
      maxBytesPerFile: Math.min(spec.batch.maxBytesPerFile, api.limits.maxBytesPerFile),
      recordsPerRequest: spec.batching.recordsPerRequest,
      maxPromptTokens: spec.batching.maxPromptTokens,
    },
  });
  const batches = ledger.batches();
  const reportError = runner.reportError.bind(runner);
  const submitter = new BatchSubmitter({
    api, batches, writer, budget,
    directory: join(jobDirectory(inputs.stateDir, spec.name), 'batch-input'),
    completionWindow: spec.batch.completionWindow,
    maxSubmissions: spec.batch.maxSubmissions,
    log: (level, message) => runner.log(level, message),
  });
  const joiner = new BatchJoiner({ ledger, batches, validator: inputs.validator, price, model: endpoint.model, progress: inputs.progress, reportError });
  const online = new OnlineFallback({
    ledger, batches, executor,
    progress: inputs.progress,
    concurrency: spec.limits.concurrency,
    maxSubmissions: spec.batch.maxSubmissions,
    packing: { recordsPerRequest: spec.batching.recordsPerRequest, maxPromptTokens: spec.batching.maxPromptTokens, overheadTokens: builder.overheadTokens },
    stopSignal: runner.signals.stop,
    stopping: () => runner.stopping,
    reportError,
    requestStop: (stop) => runner.requestStop(stop),
  });
  return new BatchModeRun(runner, { ...inputs, api, submitter, joiner, online });
}
