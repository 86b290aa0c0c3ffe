// Anthropic's Message Batches API, for batch mode: create a batch of Messages requests,
// poll it, stream its results (JSONL, one line per request, in any order), cancel it, and
// list the workspace's batches (how a run that died before saving a batch id finds it).
// Self-contained: a runner plugs in these calls and matches lines by custom_id.
// Limits are checked before anything is sent; failures throw a MessageBatchError carrying
// the same classification (retry / split / fatal) as online calls, the key cut out.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { request } from 'undici';
import { z } from 'zod';
import { classifyTransportError, type CallError } from '../errorClass';
import { readRetryAfterMs } from '../rateLimitHeaders';
import { classifyAnthropicError } from './anthropicErrors';
import { anthropicHeaders } from './anthropicApi';
import type { MessagesBody } from './messagesBody';
import { messageSchema } from './messagesResponse';

/** Anthropic's limits per batch: 100,000 requests or 256 MB, whichever comes first. */
export const batchLimits = { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 } as const;

const customIdPattern = /^[a-zA-Z0-9_-]{1,64}$/;

export interface BatchRequest {
  custom_id: string;
  params: MessagesBody;
}

const countsSchema = z.object({ processing: z.number(), succeeded: z.number(), errored: z.number(), canceled: z.number(), expired: z.number() }).loose();

export const messageBatchSchema = z
  .object({
    id: z.string(),
    type: z.literal('message_batch'),
    processing_status: z.enum(['in_progress', 'canceling', 'ended']),
    request_counts: countsSchema,
    ended_at: z.string().nullable(),
    created_at: z.string(),
    expires_at: z.string(),
    cancel_initiated_at: z.string().nullable().optional(),
    results_url: z.string().nullable(),
  })
  .loose();

export type MessageBatch = z.infer<typeof messageBatchSchema>;

const batchListSchema = z.object({ data: z.array(messageBatchSchema), has_more: z.boolean(), last_id: z.string().nullable() }).loose();

export type MessageBatchPage = z.infer<typeof batchListSchema>;

const errorBodySchema = z.object({ type: z.literal('error'), error: z.object({ type: z.string(), message: z.string() }).loose() }).loose();

export const batchResultLineSchema = z.object({
  custom_id: z.string(),
  result: z.discriminatedUnion('type', [
    z.object({ type: z.literal('succeeded'), message: messageSchema }).loose(),
    z.object({ type: z.literal('errored'), error: errorBodySchema }).loose(),
    z.object({ type: z.literal('expired') }).loose(),
    z.object({ type: z.literal('canceled') }).loose(),
  ]),
});

export type BatchResultLine = z.infer<typeof batchResultLineSchema>;

export class MessageBatchError extends Error {
  override readonly name = 'MessageBatchError';

  constructor(readonly error: CallError) {
    super(error.message);
  }
}

export interface BatchEndpoint {
  baseUrl: string;
  headers: Record<string, string>;
  /** Held in memory only. */
  apiKey: string | undefined;
}

function checkCustomId(customId: string, seen: Set<string>): void {
  if (!customIdPattern.test(customId)) throw new RangeError(`custom_id "${customId}" must be 1 to 64 letters, digits, "_" or "-"`);
  if (seen.has(customId)) throw new RangeError(`custom_id "${customId}" is used more than once in the batch`);
  seen.add(customId);
}

function checkSize(requests: number, bytes: number, limits: { maxRequests: number; maxBytes: number }): void {
  if (requests === 0) throw new RangeError('a message batch needs at least one request');
  if (requests > limits.maxRequests) throw new RangeError(`a message batch holds at most ${limits.maxRequests} requests, not ${requests}: split it`);
  if (bytes > limits.maxBytes) throw new RangeError(`the batch is ${bytes} bytes, over the limit of ${limits.maxBytes} bytes per batch: split it`);
}

/** The checks Anthropic would refuse a whole batch for, with what to do instead; the body to send. */
export function checkBatch(requests: readonly BatchRequest[], limits: { maxRequests: number; maxBytes: number } = batchLimits): string {
  checkSize(requests.length, 0, limits);
  const seen = new Set<string>();
  for (const { custom_id: customId } of requests) checkCustomId(customId, seen);
  const body = JSON.stringify({ requests });
  checkSize(requests.length, Buffer.byteLength(body), limits);
  return body;
}

async function* nonEmptyLines(path: string): AsyncGenerator<string> {
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) if (line.trim() !== '') yield line;
}

/** checkBatch for a file of request lines, read a line at a time. */
async function checkBatchFile(path: string, limits: { maxRequests: number; maxBytes: number }): Promise<void> {
  const seen = new Set<string>();
  let bytes = '{"requests":[]}'.length;
  for await (const line of nonEmptyLines(path)) {
    const request = safeJson(line) as { custom_id?: unknown } | undefined;
    if (typeof request?.custom_id !== 'string') throw new RangeError(`${path}: line ${seen.size + 1} is not a {custom_id, params} batch request`);
    checkCustomId(request.custom_id, seen);
    bytes += Buffer.byteLength(line) + (seen.size > 1 ? 1 : 0);
  }
  checkSize(seen.size, bytes, limits);
}

async function* requestsBodyOf(path: string): AsyncGenerator<Buffer> {
  yield Buffer.from('{"requests":[');
  let first = true;
  for await (const line of nonEmptyLines(path)) {
    yield Buffer.from(first ? line : `,${line}`);
    first = false;
  }
  yield Buffer.from(']}');
}

export class MessageBatchesClient {
  private readonly root: string;

  constructor(
    private readonly endpoint: BatchEndpoint,
    private readonly timeoutMs = 60_000,
  ) {
    this.root = `${endpoint.baseUrl.replace(/\/$/, '')}/messages/batches`;
  }

  async create(requests: readonly BatchRequest[]): Promise<MessageBatch> {
    return this.batch('POST', this.root, checkBatch(requests));
  }

  /**
   * A batch from a file of request lines ({custom_id, params} JSON, one a line), checked and
   * sent a line at a time: a batch may be 256 MB, more than a job's heap holds at once.
   */
  async createFromFile(path: string, limits: { maxRequests: number; maxBytes: number } = batchLimits): Promise<MessageBatch> {
    await checkBatchFile(path, limits);
    return this.batch('POST', this.root, Readable.from(requestsBodyOf(path)));
  }

  async retrieve(id: string): Promise<MessageBatch> {
    return this.batch('GET', `${this.root}/${encodeURIComponent(id)}`);
  }

  /** One page of the workspace's batches, newest first; `afterId` (a page's last_id) pages to older ones. */
  async list(afterId?: string, limit = 100): Promise<MessageBatchPage> {
    const url = `${this.root}?limit=${limit}${afterId === undefined ? '' : `&after_id=${encodeURIComponent(afterId)}`}`;
    const response = await this.send('GET', url);
    if (response.statusCode < 200 || response.statusCode >= 300) throw await this.failure(response);
    const text = await response.body.text();
    const parsed = batchListSchema.safeParse(safeJson(text));
    if (!parsed.success) throw new MessageBatchError({ errorClass: 'bad_response', category: 'retry', status: response.statusCode, message: `${url} did not answer with a list of message batches: ${text.slice(0, 160)}` });
    return parsed.data;
  }

  async cancel(id: string): Promise<MessageBatch> {
    return this.batch('POST', `${this.root}/${encodeURIComponent(id)}/cancel`);
  }

  /** The results of an ended batch, line by line as they arrive: never the whole file in memory. */
  async *results(id: string): AsyncGenerator<BatchResultLine> {
    const batch = await this.retrieve(id);
    if (batch.processing_status !== 'ended' || !batch.results_url) {
      throw new MessageBatchError({ errorClass: 'batch_not_ended', category: 'retry', message: `message batch ${id} is ${batch.processing_status}: its results come when it has ended` });
    }
    const response = await this.send('GET', batch.results_url);
    if (response.statusCode !== 200) throw await this.failure(response);
    const decoder = new StringDecoder('utf8');
    let carry = '';
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        const lines = (carry + decoder.write(chunk)).split('\n');
        carry = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') yield this.parseLine(line);
      }
      const last = carry + decoder.end();
      if (last.trim() !== '') yield this.parseLine(last);
    } finally {
      // A consumer that stops early must not leave the connection half read.
      response.body.destroy();
    }
  }

  private parseLine(line: string): BatchResultLine {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      json = undefined;
    }
    const parsed = batchResultLineSchema.safeParse(json);
    if (!parsed.success) throw new MessageBatchError({ errorClass: 'bad_response', category: 'retry', message: `a results line is not a batch result: ${line.slice(0, 160)}` });
    return parsed.data;
  }

  private async batch(method: 'GET' | 'POST', url: string, body?: string | Readable): Promise<MessageBatch> {
    const response = await this.send(method, url, body);
    if (response.statusCode < 200 || response.statusCode >= 300) throw await this.failure(response);
    const text = await response.body.text();
    const parsed = messageBatchSchema.safeParse(safeJson(text));
    if (!parsed.success) throw new MessageBatchError({ errorClass: 'bad_response', category: 'retry', status: response.statusCode, message: `${url} did not answer with a message batch: ${text.slice(0, 160)}` });
    return parsed.data;
  }

  private async send(method: 'GET' | 'POST', url: string, body?: string | Readable) {
    const headers = { ...this.endpoint.headers, ...anthropicHeaders(this.endpoint.apiKey), ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    try {
      return await request(url, { method, headers, body, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    } catch (error) {
      throw new MessageBatchError(this.withoutKey(classifyTransportError(error, this.endpoint.baseUrl)));
    }
  }

  private async failure(response: Awaited<ReturnType<typeof request>>): Promise<MessageBatchError> {
    const text = await response.body.text();
    const header = (name: string) => {
      const value = response.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const error = classifyAnthropicError(response.statusCode, safeJson(text), text, this.endpoint.baseUrl);
    const retryAfterMs = readRetryAfterMs(header);
    return new MessageBatchError(this.withoutKey({ ...error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }));
  }

  private withoutKey(error: CallError): CallError {
    const key = this.endpoint.apiKey;
    return key && error.message.includes(key) ? { ...error, message: error.message.replaceAll(key, '[redacted]') } : error;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
