// Anthropic's Message Batches (docs.anthropic.com/en/docs/build-with-claude/batch-processing)
// behind batch mode's BatchApi, on the MessageBatchesClient. Anthropic has no file upload:
// the requests go inline in the create call. So "upload" keeps the written file (renamed
// out of the submitter's way) as the input, `create` sends its lines, and `release` deletes
// it once the batch id is saved. Each line's params are the Messages body the online path
// sends (anthropicApi.buildBody), and each result is read by the online path's readAnswer.
import { createReadStream } from 'node:fs';
import { rename, rm, stat, utimes } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { ChatRequestBody } from '../pipeline/requestBuilder';
import { anthropicApi } from '../provider/anthropic/anthropicApi';
import { MessageBatchError, MessageBatchesClient, batchLimits, type BatchRequest, type BatchResultLine as AnthropicResultLine, type MessageBatch } from '../provider/anthropic/messageBatches';
import type { MessagesBody } from '../provider/anthropic/messagesBody';
import type { EndpointConfig } from '../provider/providerClient';
import { readAnswer } from '../provider/providerApi';
import { BatchApiError, type BatchApi, type BatchResultLine, type BatchState, type BatchStatus } from './batchApi';

/**
 * How far before the kept file's time a batch made from it may say it was created: the
 * provider's clock against ours. Generous on purpose: a wrong candidate is caught at the join.
 */
const clockSlackMs = 5 * 60_000;
const maxListPages = 20;

/** The HTTP status an errored line's error type stands for, so it is classified like an online error. */
const statusOfErrorType: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

function stateOf(batch: MessageBatch): BatchState {
  const counts = batch.request_counts;
  const total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired;
  let status: BatchStatus = batch.processing_status === 'in_progress' ? 'in_progress' : 'cancelling';
  if (batch.processing_status === 'ended') {
    if (batch.cancel_initiated_at) status = 'cancelled';
    else status = counts.succeeded + counts.errored === 0 && counts.expired > 0 ? 'expired' : 'completed';
  }
  return { id: batch.id, status, total, completed: counts.succeeded, failed: counts.errored + counts.expired + counts.canceled, errors: [] };
}

export class AnthropicBatchApi implements BatchApi {
  // A file's newlines become the body's commas; the `{"requests":[…]}` around them is the rest.
  readonly limits = { maxRequestsPerFile: batchLimits.maxRequests, maxBytesPerFile: batchLimits.maxBytes - 64 };
  private readonly client: MessageBatchesClient;
  /** Prefixes every custom_id sent, so lines of another job's batch are never taken for this job's. */
  private readonly prefix: string;

  constructor(
    private readonly endpoint: EndpointConfig,
    requestTimeoutMs: number,
    /** Letters and digits naming the job (a hash of its folder), at most 16. */
    jobTag: string,
  ) {
    this.client = new MessageBatchesClient(endpoint, requestTimeoutMs);
    this.prefix = `${jobTag}_`;
  }

  encodeLine(customId: string, body: ChatRequestBody): string {
    const request: BatchRequest = { custom_id: `${this.prefix}${customId}`, params: anthropicApi.buildBody(body) as MessagesBody };
    return JSON.stringify(request);
  }

  /** Keeps the file as the batch's input until `release`; its time is when the batch is about to be created. */
  async upload(path: string, signal: AbortSignal): Promise<string> {
    signal.throwIfAborted();
    const kept = path.replace(/\.jsonl$/, '.anthropic.jsonl');
    await rename(path, kept);
    const now = new Date();
    await utimes(kept, now, now);
    return kept;
  }

  /** Anthropic's window is fixed at 24 hours, the spec's only value, so the one asked for is it. */
  async create(inputRef: string, _completionWindow: string, signal: AbortSignal): Promise<BatchState> {
    return stateOf(await this.call(() => this.client.createFromFile(inputRef, batchLimits), signal));
  }

  /**
   * Anthropic batches carry no reference to their input, so the batch made from this file
   * is the oldest one created since the file was kept with as many requests as it has lines.
   * Should that be another batch (made the same minutes, same size), no harm follows: its
   * custom_ids are not this job's lines, the join skips them and the records go again.
   */
  async findByInput(inputRef: string, signal: AbortSignal): Promise<BatchState | null> {
    let keptAtMs: number;
    let lines = 0;
    try {
      keptAtMs = (await stat(inputRef)).mtimeMs;
      for await (const line of createInterface({ input: createReadStream(inputRef) })) if (line.trim() !== '') lines += 1;
    } catch {
      return null; // no input left to match against: `create` says what is missing
    }
    let match: BatchState | null = null;
    let afterId: string | undefined;
    for (let page = 0; page < maxListPages; page += 1) {
      const list = await this.call(() => this.client.list(afterId), signal);
      for (const batch of list.data) {
        if (Date.parse(batch.created_at) < keptAtMs - clockSlackMs) return match; // newest first: the rest are older
        const state = stateOf(batch);
        if (state.total === lines) match = state;
      }
      if (!list.has_more || list.last_id === null) break;
      afterId = list.last_id;
    }
    return match;
  }

  async release(inputRef: string): Promise<void> {
    await rm(inputRef, { force: true });
  }

  async retrieve(batchId: string, signal: AbortSignal): Promise<BatchState> {
    return stateOf(await this.call(() => this.client.retrieve(batchId), signal));
  }

  async cancel(batchId: string, signal: AbortSignal): Promise<BatchState> {
    return stateOf(await this.call(() => this.client.cancel(batchId), signal));
  }

  async *results(batchId: string, signal: AbortSignal): AsyncIterable<BatchResultLine> {
    const lines = this.client.results(batchId);
    try {
      for (;;) {
        const next = await this.call(() => lines.next(), signal);
        if (next.done) return;
        const result = this.resultOf(next.value);
        if (result) yield result;
      }
    } finally {
      // Not awaited: after a stop the pending read would hold it up; closing the body is enough.
      void lines.return(undefined).catch(() => undefined);
    }
  }

  private resultOf({ custom_id: sentId, result }: AnthropicResultLine): BatchResultLine | null {
    if (!sentId.startsWith(this.prefix)) return null; // not a line this job sent
    const customId = sentId.slice(this.prefix.length);
    const { baseUrl } = this.endpoint;
    switch (result.type) {
      case 'succeeded':
        return { customId, outcome: readAnswer(anthropicApi, 200, result.message, JSON.stringify(result.message), baseUrl) };
      case 'errored': {
        const status = statusOfErrorType[result.error.error.type] ?? 500;
        return { customId, outcome: readAnswer(anthropicApi, status, result.error, JSON.stringify(result.error), baseUrl) };
      }
      default:
        return { customId, outcome: { ok: false, errorClass: `batch_line_${result.type}`, category: 'retry', message: `the batch ${result.type === 'expired' ? 'expired before it answered' : 'was canceled before it answered'} this line`, usage: null } };
    }
  }

  /** The client's failures as the runner's, a refused batch as fatal, and a stop not waiting for the call. */
  private async call<T>(run: () => Promise<T>, signal: AbortSignal): Promise<T> {
    signal.throwIfAborted();
    let onAbort = () => {};
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([run(), aborted]);
    } catch (error) {
      if (error instanceof MessageBatchError) throw new BatchApiError(error.error);
      if (error instanceof RangeError) throw new BatchApiError({ errorClass: 'batch_refused', category: 'fatal', message: error.message });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new BatchApiError({ errorClass: 'batch_input_missing', category: 'fatal', message: `the requests of a batch not yet created are gone (${(error as Error).message}): Drover keeps them in the job's batch-input folder until the batch id is saved. Put the file back, or run the job afresh under a new name` });
      }
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
