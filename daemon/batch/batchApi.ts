// What batch mode needs from a provider's batch API, and nothing provider-specific: stage a
// file of request lines, create a batch from it, ask how it is going, cancel it, and read
// back one outcome per line by custom_id. OpenAI's Batch API implements it
// (openAiBatchApi.ts); Anthropic's Message Batches can implement it without the runner
// changing (anthropicBatchApi.ts: its "upload" keeps the file locally, its create sends the
// lines, and `release` deletes the file once the batch id is saved).
import type { ChatRequestBody } from '../pipeline/requestBuilder';
import type { CallError } from '../provider/errorClass';
import type { ParsedAnswer } from '../provider/providerApi';

/** The provider's statuses, in OpenAI's words; other providers map theirs onto these. */
export type BatchStatus = 'validating' | 'in_progress' | 'finalizing' | 'completed' | 'failed' | 'expired' | 'cancelling' | 'cancelled';

export const finalStatuses: ReadonlySet<BatchStatus> = new Set(['completed', 'failed', 'expired', 'cancelled']);

export interface BatchState {
  id: string;
  status: BatchStatus;
  total: number;
  completed: number;
  failed: number;
  /** Why the whole batch failed (validation), when it did. */
  errors: string[];
}

export interface BatchResultLine {
  customId: string;
  /** The line's answer read exactly like an online response, or why there is none. */
  outcome: ParsedAnswer;
}

/** The provider's own caps on one batch; the spec's `batch` settings may only be lower. */
export interface BatchApiLimits {
  maxRequestsPerFile: number;
  maxBytesPerFile: number;
}

export interface BatchApi {
  readonly limits: BatchApiLimits;
  /** One line of the input file. */
  encodeLine(customId: string, body: ChatRequestBody): string;
  /** Makes the file available for a batch; returns what `create` takes (a file id). */
  upload(path: string, signal: AbortSignal): Promise<string>;
  create(inputRef: string, completionWindow: string, signal: AbortSignal): Promise<BatchState>;
  /** The batch already created from this input, if any: a run killed between create and saving its id finds it. */
  findByInput(inputRef: string, signal: AbortSignal): Promise<BatchState | null>;
  /** The batch made from this input has its id saved: what was kept only to create it may go. */
  release(inputRef: string): Promise<void>;
  retrieve(batchId: string, signal: AbortSignal): Promise<BatchState>;
  cancel(batchId: string, signal: AbortSignal): Promise<BatchState>;
  /** Every line's outcome, output and errors alike, streamed (files can be hundreds of MB). */
  results(batchId: string, signal: AbortSignal): AsyncIterable<BatchResultLine>;
}

/** A batch API call that failed, classified like an online call (retry, fatal, …). */
export class BatchApiError extends Error {
  override readonly name = 'BatchApiError';

  constructor(readonly error: CallError) {
    super(error.message);
  }
}
