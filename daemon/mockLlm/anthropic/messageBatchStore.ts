// The mock's Message Batches: each batch is worked out when it is created, and its requests
// count as processed one after another over `batchProcessingMs`, so a batch is in_progress
// for that long and a cancel keeps what was processed before it and cancels the rest.
// Request counts move out of "processing" only when the batch ends, as Anthropic's do.
import { randomBytes } from 'node:crypto';
import { mulberry32 } from '../faults';
import { type MockLlmOptions } from '../options';

export type BatchResult =
  | { type: 'succeeded'; message: object }
  | { type: 'errored'; error: object }
  | { type: 'expired' }
  | { type: 'canceled' };

export interface BatchLine {
  custom_id: string;
  result: BatchResult;
}

interface StoredBatch {
  id: string;
  lines: BatchLine[];
  createdAtMs: number;
  createdAt: Date;
  canceledAtMs: number | undefined;
  cancelInitiatedAt: Date | undefined;
}

const dayMs = 24 * 3_600_000;

const injectedServerError = { type: 'error', error: { type: 'api_error', message: 'Internal server error (injected by batchFailLine)' } };

export class MessageBatchStore {
  private readonly batches = new Map<string, StoredBatch>();
  private readonly expiryDraw: () => number;
  private sequence = 0;
  private readonly idPrefix = randomBytes(6).toString('hex');

  constructor(
    private readonly options: MockLlmOptions,
    private readonly now: () => number,
  ) {
    // Its own stream, so batches never shift the online requests' fault draws.
    this.expiryDraw = mulberry32((options.seed ?? Math.floor(Math.random() * 4_294_967_296)) ^ 0x5bd1e995);
  }

  /**
   * Stores a batch, each request worked out by `answer` unless it is drawn to expire
   * (`batchExpire`) or to fail with a server error (`batchFailLine`): those are never
   * answered, so the mock's answer counts hold only what a result line carries.
   */
  create(requests: readonly { custom_id: string; params: unknown }[], answer: (customId: string, params: unknown) => BatchLine): string {
    const id = `msgbatch_${this.idPrefix}${(++this.sequence).toString(36)}`;
    const lines = requests.map(({ custom_id: customId, params }): BatchLine => {
      const draw = this.expiryDraw();
      if (draw < this.options.batchExpire) return { custom_id: customId, result: { type: 'expired' } };
      if (draw < this.options.batchExpire + this.options.batchFailLine) return { custom_id: customId, result: { type: 'errored', error: injectedServerError } };
      return answer(customId, params);
    });
    this.batches.set(id, { id, lines, createdAtMs: this.now(), createdAt: new Date(), canceledAtMs: undefined, cancelInitiatedAt: undefined });
    return id;
  }

  /** Ids newest first, as Anthropic lists them: a page of `limit` after `afterId` (older ones). */
  list(limit: number, afterId: string | undefined): { ids: string[]; hasMore: boolean } {
    const newestFirst = [...this.batches.keys()].reverse();
    const start = afterId === undefined ? 0 : newestFirst.indexOf(afterId) + 1;
    const ids = start === 0 && afterId !== undefined ? [] : newestFirst.slice(start, start + limit);
    return { ids, hasMore: start + ids.length < newestFirst.length };
  }

  has(id: string): boolean {
    return this.batches.has(id);
  }

  /** Starts a cancel; undefined when the batch does not exist. Cancelling an ended batch changes nothing. */
  cancel(id: string): boolean {
    const batch = this.batches.get(id);
    if (!batch) return false;
    if (batch.canceledAtMs === undefined && !this.ended(batch)) {
      batch.canceledAtMs = this.now();
      batch.cancelInitiatedAt = new Date();
    }
    return true;
  }

  private ended(batch: StoredBatch): boolean {
    return batch.canceledAtMs !== undefined || this.now() - batch.createdAtMs >= this.options.batchProcessingMs;
  }

  /** Line i counts as processed at created + processing × (i + 1) / n; a cancel cancels the rest. */
  private finalLines(batch: StoredBatch): BatchLine[] {
    if (batch.canceledAtMs === undefined) return batch.lines;
    const elapsed = batch.canceledAtMs - batch.createdAtMs;
    const processed = Math.floor((elapsed / Math.max(1, this.options.batchProcessingMs)) * batch.lines.length);
    return batch.lines.map((line, index) => (index < processed ? line : { custom_id: line.custom_id, result: { type: 'canceled' } }));
  }

  /** The batch as the API shows it; `resultsBase` is the URL its results_url starts with. */
  view(id: string, resultsBase: string, justCanceled = false): object | undefined {
    const batch = this.batches.get(id);
    if (!batch) return undefined;
    const ended = this.ended(batch) && !justCanceled;
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (ended) for (const line of this.finalLines(batch)) counts[line.result.type] += 1;
    else counts.processing = batch.lines.length;
    const endedAt = ended ? new Date(batch.createdAt.getTime() + Math.min(this.now() - batch.createdAtMs, this.options.batchProcessingMs)) : undefined;
    return {
      id,
      type: 'message_batch',
      processing_status: ended ? 'ended' : justCanceled || batch.canceledAtMs !== undefined ? 'canceling' : 'in_progress',
      request_counts: counts,
      ended_at: endedAt?.toISOString() ?? null,
      created_at: batch.createdAt.toISOString(),
      expires_at: new Date(batch.createdAt.getTime() + dayMs).toISOString(),
      archived_at: null,
      cancel_initiated_at: batch.cancelInitiatedAt?.toISOString() ?? null,
      results_url: ended ? `${resultsBase}/v1/messages/batches/${id}/results` : null,
    };
  }

  /** The result lines, or undefined while the batch has not ended. */
  results(id: string): BatchLine[] | undefined {
    const batch = this.batches.get(id);
    return batch && this.ended(batch) ? this.finalLines(batch) : undefined;
  }
}
