// The mock's batches: created from an uploaded file, they go validating → in_progress →
// finalizing → completed over --batch-delay-ms, each line answered by the analyst exactly
// like a chat completion. Seeded line failures go to the error file; the first
// --batch-expire-first batches expire with half their lines unanswered; cancel stops a
// batch where it is.
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { answerBatchLine } from './chatCompletions';
import { ApiError } from './errors';
import { mulberry32 } from './faults';
import { readBatchInput, type BatchInputError } from './batchInput';
import type { FileStore } from './fileStore';
import { sleep } from './httpIo';
import type { MockContext } from './mockContext';

type Status = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

interface MockBatch {
  id: string;
  inputFileId: string;
  endpoint: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
  status: Status;
  errors: BatchInputError[] | null;
  total: number;
  completed: number;
  failed: number;
  outputFileId: string | null;
  errorFileId: string | null;
  times: Partial<Record<'created' | 'in_progress' | 'finalizing' | 'completed' | 'failed' | 'expired' | 'cancelling' | 'cancelled', number>>;
  cancelRequested: boolean;
}

const seconds = () => Math.floor(Date.now() / 1000);
const linesPerSlice = 100;

export function batchNotFound(id: string): ApiError {
  return new ApiError(404, `No batch found with id '${id}'.`, 'invalid_request_error', 'batch_id');
}

export class BatchStore {
  private readonly batches = new Map<string, MockBatch>();
  private readonly random: () => number;
  /** Batches created since start (not reset with the stats): --batch-expire-first counts these. */
  private createdSinceStart = 0;

  constructor(
    private readonly context: MockContext,
    private readonly files: FileStore,
  ) {
    // Its own stream, so batch draws never shift the chat endpoint's fault draws.
    this.random = mulberry32((context.options.seed ?? Math.floor(Math.random() * 4_294_967_296)) ^ 0x5bd1e995);
  }

  create(inputFileId: string, endpoint: string, completionWindow: string, metadata: Record<string, string> | null) {
    const input = this.files.get(inputFileId);
    const batch: MockBatch = {
      id: this.context.nextId('batch_'),
      inputFileId: input.id,
      endpoint,
      completionWindow,
      metadata,
      status: 'validating',
      errors: null,
      total: 0,
      completed: 0,
      failed: 0,
      outputFileId: null,
      errorFileId: null,
      times: { created: seconds() },
      cancelRequested: false,
    };
    this.createdSinceStart += 1;
    this.context.stats.batches.created += 1;
    const expires = this.createdSinceStart <= this.context.options.batchExpireFirst;
    this.batches.set(batch.id, batch);
    void this.run(batch, input.bytes.toString('utf8'), expires);
    return this.objectOf(batch);
  }

  retrieve(id: string) {
    return this.objectOf(this.get(id));
  }

  cancel(id: string) {
    const batch = this.get(id);
    if (batch.status === 'validating' || batch.status === 'in_progress' || batch.status === 'finalizing') {
      batch.cancelRequested = true;
      batch.status = 'cancelling';
      batch.times.cancelling = seconds();
    }
    return this.objectOf(batch);
  }

  /** Newest first, like OpenAI's list. */
  list(limit: number, after: string | undefined) {
    const all = [...this.batches.values()].reverse();
    const start = after ? all.findIndex((batch) => batch.id === after) + 1 : 0;
    const page = all.slice(start, start + limit);
    return {
      object: 'list',
      data: page.map((batch) => this.objectOf(batch)),
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
      has_more: start + limit < all.length,
    };
  }

  private get(id: string): MockBatch {
    const batch = this.batches.get(id);
    if (!batch) throw batchNotFound(id);
    return batch;
  }

  private async run(batch: MockBatch, text: string, expires: boolean): Promise<void> {
    const step = this.context.options.batchDelayMs / 3;
    const signal = this.context.stopping.signal;
    if (!(await sleep(step, signal))) return;
    const input = readBatchInput(text, batch.endpoint, this.context.options.batchMaxRequests);
    if (!input.ok) {
      batch.status = 'failed';
      batch.errors = input.errors;
      batch.times.failed = seconds();
      return;
    }
    batch.total = input.lines.length;
    if (batch.status === 'validating') {
      batch.status = 'in_progress';
      batch.times.in_progress = seconds();
    }
    const output: string[] = [];
    const failures: string[] = [];
    const answerUpTo = expires ? Math.floor(input.lines.length / 2) : input.lines.length;
    for (let start = 0; start < answerUpTo && !batch.cancelRequested; start += linesPerSlice) {
      for (const line of input.lines.slice(start, Math.min(answerUpTo, start + linesPerSlice))) {
        if (this.random() < this.context.options.batchFailLine) {
          failures.push(this.resultLine(line.customId, null, { code: 'server_error', message: 'The server had an error while processing this request.' }));
          batch.failed += 1;
          this.context.stats.batches.linesFailed += 1;
        } else {
          output.push(this.resultLine(line.customId, answerBatchLine(this.context, line.body), null));
          batch.completed += 1;
          this.context.stats.batches.linesAnswered += 1;
        }
      }
      // A large batch is answered in slices, so the server keeps serving while it works.
      await yieldToIo();
      if (signal.aborted) return;
    }
    if (expires) {
      for (const line of input.lines.slice(answerUpTo)) {
        failures.push(this.resultLine(line.customId, null, { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' }));
      }
    }
    if (!batch.cancelRequested && !expires) {
      batch.status = 'finalizing';
      batch.times.finalizing = seconds();
      if (!(await sleep(step, signal))) return;
    }
    batch.outputFileId = output.length > 0 ? this.writeFile(batch, 'output', output) : null;
    batch.errorFileId = failures.length > 0 ? this.writeFile(batch, 'error', failures) : null;
    const final: Status = batch.cancelRequested ? 'cancelled' : expires ? 'expired' : 'completed';
    batch.status = final;
    batch.times[final] = seconds();
    if (final === 'cancelled') this.context.stats.batches.cancelled += 1;
    if (final === 'expired') this.context.stats.batches.expired += 1;
  }

  private resultLine(customId: string, response: ReturnType<typeof answerBatchLine> | null, error: { code: string; message: string } | null): string {
    return JSON.stringify({ id: this.context.nextId('batch_req_'), custom_id: customId, response, error });
  }

  private writeFile(batch: MockBatch, kind: 'output' | 'error', lines: string[]): string {
    const file = this.files.add({
      id: this.context.nextId('file-'),
      bytes: Buffer.from(`${lines.join('\n')}\n`),
      filename: `${batch.id}_${kind}.jsonl`,
      purpose: 'batch_output',
      createdAt: seconds(),
    });
    return file.id;
  }

  private objectOf(batch: MockBatch) {
    const { times } = batch;
    return {
      id: batch.id,
      object: 'batch',
      endpoint: batch.endpoint,
      errors: batch.errors ? { object: 'list', data: batch.errors } : null,
      input_file_id: batch.inputFileId,
      completion_window: batch.completionWindow,
      status: batch.status,
      output_file_id: batch.outputFileId,
      error_file_id: batch.errorFileId,
      created_at: times.created ?? null,
      in_progress_at: times.in_progress ?? null,
      expires_at: (times.created ?? 0) + 24 * 3600,
      finalizing_at: times.finalizing ?? null,
      completed_at: times.completed ?? null,
      failed_at: times.failed ?? null,
      expired_at: times.expired ?? null,
      cancelling_at: times.cancelling ?? null,
      cancelled_at: times.cancelled ?? null,
      request_counts: { total: batch.total, completed: batch.completed, failed: batch.failed },
      metadata: batch.metadata,
    };
  }
}
