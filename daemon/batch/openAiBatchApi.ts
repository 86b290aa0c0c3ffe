// OpenAI's Batch API (platform.openai.com/docs/guides/batch): JSONL files of
// {custom_id, method, url, body} uploaded to /v1/files with purpose "batch", batches created
// at /v1/batches and polled there, results read from the output and error files. Also what
// OpenAI-compatible servers with a batch API (and Drover's mock) speak.
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { fetch, FormData } from 'undici';
import { z } from 'zod';
import type { ChatRequestBody } from '../pipeline/requestBuilder';
import { openAiApi } from '../provider/openAiApi';
import { readAnswer } from '../provider/providerApi';
import { classifyHttpError, classifyTransportError } from '../provider/errorClass';
import type { EndpointConfig } from '../provider/providerClient';
import { BatchApiError, type BatchApi, type BatchResultLine, type BatchState } from './batchApi';

const batchSchema = z
  .object({
    id: z.string(),
    status: z.enum(['validating', 'in_progress', 'finalizing', 'completed', 'failed', 'expired', 'cancelling', 'cancelled']),
    input_file_id: z.string().nullish(),
    request_counts: z.object({ total: z.number(), completed: z.number(), failed: z.number() }).loose().nullish(),
    errors: z
      .object({ data: z.array(z.object({ code: z.string().nullish(), message: z.string().nullish(), line: z.number().nullish() }).loose()).nullish() })
      .loose()
      .nullish(),
    output_file_id: z.string().nullish(),
    error_file_id: z.string().nullish(),
  })
  .loose();
type BatchObject = z.infer<typeof batchSchema>;

const batchListSchema = z.object({ data: z.array(batchSchema), has_more: z.boolean().nullish(), last_id: z.string().nullish() }).loose();

const resultLineSchema = z
  .object({
    custom_id: z.string(),
    response: z.object({ status_code: z.number(), body: z.unknown() }).loose().nullish(),
    error: z.object({ code: z.string().nullish(), message: z.string().nullish() }).loose().nullish(),
  })
  .loose();

function stateOf(batch: BatchObject): BatchState {
  const counts = batch.request_counts;
  const errors = (batch.errors?.data ?? []).map((error) => `${error.line === null || error.line === undefined ? '' : `line ${error.line}: `}${error.message ?? error.code ?? 'error'}`);
  return { id: batch.id, status: batch.status, total: counts?.total ?? 0, completed: counts?.completed ?? 0, failed: counts?.failed ?? 0, errors };
}

/** Lines of a streamed body, decoded as they come. */
async function* linesOf(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body) {
    rest += decoder.decode(chunk, { stream: true });
    let newline = rest.indexOf('\n');
    while (newline !== -1) {
      yield rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      newline = rest.indexOf('\n');
    }
  }
  rest += decoder.decode();
  if (rest.trim() !== '') yield rest;
}

export class OpenAiBatchApi implements BatchApi {
  readonly limits = { maxRequestsPerFile: 50_000, maxBytesPerFile: 200 * 1024 * 1024 };

  constructor(
    private readonly endpoint: EndpointConfig,
    /** Deadline of each call but uploads and downloads, whose length grows with the file. */
    private readonly requestTimeoutMs: number,
  ) {}

  encodeLine(customId: string, body: ChatRequestBody): string {
    return JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body });
  }

  async upload(path: string, signal: AbortSignal): Promise<string> {
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', await openAsBlob(path, { type: 'application/jsonl' }), basename(path));
    const file = z.object({ id: z.string() }).loose().parse(await this.call('POST', '/files', signal, { body: form, timed: false }));
    return file.id;
  }

  async create(inputRef: string, completionWindow: string, signal: AbortSignal): Promise<BatchState> {
    const body = JSON.stringify({ input_file_id: inputRef, endpoint: '/v1/chat/completions', completion_window: completionWindow, metadata: { created_by: 'drover' } });
    return stateOf(batchSchema.parse(await this.call('POST', '/batches', signal, { body, json: true })));
  }

  async findByInput(inputRef: string, signal: AbortSignal): Promise<BatchState | null> {
    let after: string | null | undefined;
    // Newest first: a batch created moments before a crash is on the first page.
    for (let page = 0; page < 20; page += 1) {
      const list = batchListSchema.parse(await this.call('GET', `/batches?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`, signal));
      const found = list.data.find((batch) => batch.input_file_id === inputRef);
      if (found) return stateOf(found);
      if (!list.has_more || list.data.length === 0) return null;
      after = list.last_id ?? list.data.at(-1)?.id;
    }
    return null;
  }

  /** The uploaded file stays at OpenAI (its files expire with the batch's retention); nothing is kept here. */
  async release(): Promise<void> {}

  async retrieve(batchId: string, signal: AbortSignal): Promise<BatchState> {
    return stateOf(batchSchema.parse(await this.call('GET', `/batches/${encodeURIComponent(batchId)}`, signal)));
  }

  async cancel(batchId: string, signal: AbortSignal): Promise<BatchState> {
    return stateOf(batchSchema.parse(await this.call('POST', `/batches/${encodeURIComponent(batchId)}/cancel`, signal)));
  }

  async *results(batchId: string, signal: AbortSignal): AsyncIterable<BatchResultLine> {
    const batch = batchSchema.parse(await this.call('GET', `/batches/${encodeURIComponent(batchId)}`, signal));
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const response = await this.send('GET', `/files/${encodeURIComponent(fileId)}/content`, signal, { timed: false });
      if (!response.body) continue;
      for await (const line of linesOf(response.body)) {
        const result = this.resultOf(line);
        if (result) yield result;
      }
    }
  }

  private resultOf(line: string): BatchResultLine | null {
    if (line.trim() === '') return null;
    let parsed;
    try {
      parsed = resultLineSchema.safeParse(JSON.parse(line));
    } catch {
      return null; // the line's records are not answered: the join sends them again
    }
    if (!parsed.success) return null;
    const { custom_id: customId, response, error } = parsed.data;
    if (response) {
      const text = JSON.stringify(response.body) ?? '';
      return { customId, outcome: readAnswer(openAiApi, response.status_code, response.body, text, this.endpoint.baseUrl) };
    }
    const code = error?.code ?? 'batch_line_failed';
    return { customId, outcome: { ok: false, errorClass: code, category: 'retry', message: this.withoutKey(error?.message ?? `the batch did not answer this line (${code})`), usage: null } };
  }

  private async call(method: string, path: string, signal: AbortSignal, options: { body?: FormData | string; json?: boolean; timed?: boolean } = {}): Promise<unknown> {
    const response = await this.send(method, path, signal, options);
    const text = await response.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new BatchApiError({ errorClass: 'bad_response', category: 'retry', message: `${method} ${path}: HTTP ${response.status} but the body is not JSON: ${text.slice(0, 160)}` });
    }
  }

  private async send(method: string, path: string, signal: AbortSignal, options: { body?: FormData | string; json?: boolean; timed?: boolean }) {
    const headers: Record<string, string> = { ...this.endpoint.headers };
    if (this.endpoint.apiKey) headers.authorization = `Bearer ${this.endpoint.apiKey}`;
    if (options.json) headers['content-type'] = 'application/json';
    const timed = options.timed ?? true;
    const callSignal = timed ? AbortSignal.any([signal, AbortSignal.timeout(this.requestTimeoutMs)]) : signal;
    const url = `${this.endpoint.baseUrl.replace(/\/$/, '')}${path}`;
    let response;
    try {
      response = await fetch(url, { method, headers, body: options.body, signal: callSignal });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const failure = classifyTransportError(error, this.endpoint.baseUrl);
      throw new BatchApiError({ ...failure, message: this.withoutKey(`${method} ${path}: ${failure.message}`) });
    }
    if (response.status < 200 || response.status >= 300) {
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const failure = classifyHttpError(response.status, json, text, this.endpoint.baseUrl);
      throw new BatchApiError({ ...failure, message: this.withoutKey(`${method} ${path}: ${failure.message}`) });
    }
    return response;
  }

  /** Some servers echo the Authorization header in their messages; the key never leaves here. */
  private withoutKey(message: string): string {
    const key = this.endpoint.apiKey;
    return key ? message.replaceAll(key, '[redacted]') : message;
  }
}
