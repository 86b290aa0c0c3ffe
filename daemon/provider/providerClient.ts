// One endpoint: an undici Pool with keep-alive and timeouts, a deadline for the whole
// call, a cap on the response size, and a classified outcome instead of a thrown error, so
// the engine decides what each failure means in one place. The wire format (OpenAI chat
// completions or Anthropic messages) is the endpoint's ProviderApi.
import { Pool } from 'undici';
import type { ChatRequestBody } from '../pipeline/requestBuilder';
import type { ProviderApiName } from '../spec/jobSpec';
import { anthropicApi } from './anthropic/anthropicApi';
import { classifyTransportError, type CallError } from './errorClass';
import { openAiApi } from './openAiApi';
import { readAnswer, type ProviderApi, type Usage } from './providerApi';
import { readRetryAfterMs, type RateLimitSnapshot } from './rateLimitHeaders';

export interface EndpointConfig {
  /** The wire format; OpenAI's when absent. */
  api?: ProviderApiName;
  baseUrl: string;
  headers: Record<string, string>;
  /** Held in memory only. */
  apiKey: string | undefined;
}

export interface ClientOptions {
  connections: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxResponseBytes: number;
}

export type CallOutcome =
  | { ok: true; content: string; finishReason: string | null; usage: Usage | null; rateLimits: RateLimitSnapshot }
  | (CallError & { ok: false; usage: Usage | null; rateLimits: RateLimitSnapshot | null });

class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

export class ProviderClient {
  private readonly pool: Pool;
  private readonly path: string;
  readonly api: ProviderApi;

  constructor(
    readonly endpoint: EndpointConfig,
    private readonly options: ClientOptions,
  ) {
    const url = new URL(endpoint.baseUrl);
    this.api = endpoint.api === 'anthropic' ? anthropicApi : openAiApi;
    this.path = `${url.pathname.replace(/\/$/, '')}${this.api.path}`;
    this.pool = new Pool(url.origin, {
      connections: options.connections,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.headersTimeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  async chat(body: ChatRequestBody, signal: AbortSignal): Promise<CallOutcome> {
    // One controller per call, unhooked when the call ends: AbortSignal.any() would leave a
    // listener on the job's signal for every request of a multi-million-record run.
    const call = new AbortController();
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      call.abort(new Error('deadline'));
    }, this.options.requestTimeoutMs);
    const onJobAbort = () => call.abort(signal.reason);
    signal.addEventListener('abort', onJobAbort, { once: true });
    try {
      return this.withoutKey(await this.send(body, signal, call.signal, () => timedOut));
    } finally {
      clearTimeout(deadline);
      signal.removeEventListener('abort', onJobAbort);
    }
  }

  private async send(body: ChatRequestBody, signal: AbortSignal, combined: AbortSignal, timedOut: () => boolean): Promise<CallOutcome> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.endpoint.headers, ...this.api.headers(this.endpoint.apiKey) };
    let status: number;
    let text: string;
    let header: (name: string) => string | undefined;
    try {
      const response = await this.pool.request({ path: this.path, method: 'POST', headers, body: JSON.stringify(this.api.buildBody(body)), signal: combined });
      status = response.statusCode;
      header = (name) => {
        const value = response.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      text = await this.readCapped(response.body);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (timedOut()) {
        return { ok: false, errorClass: 'deadline', category: 'retry', message: `no complete answer within ${this.options.requestTimeoutMs} ms (provider.requestTimeoutMs)`, usage: null, rateLimits: null };
      }
      if (error instanceof ResponseTooLargeError) {
        return { ok: false, errorClass: 'response_too_large', category: 'retry', message: error.message, usage: null, rateLimits: null };
      }
      return { ok: false, ...classifyTransportError(error, this.endpoint.baseUrl), usage: null, rateLimits: null };
    }

    const rateLimits = this.api.readRateLimits(header);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const answer = readAnswer(this.api, status, json, text, this.endpoint.baseUrl);
    const retryAfterMs = answer.ok ? undefined : readRetryAfterMs(header);
    return { ...answer, ...(retryAfterMs === undefined ? {} : { retryAfterMs }), rateLimits };
  }

  /**
   * Some providers and proxies echo the Authorization header in their error messages; a
   * message goes into the ledger, the logs and the user's terminal, so the key is cut out.
   */
  private withoutKey(outcome: CallOutcome): CallOutcome {
    const key = this.endpoint.apiKey;
    if (outcome.ok || !key || !outcome.message.includes(key)) return outcome;
    return { ...outcome, message: outcome.message.replaceAll(key, '[redacted]') };
  }

  private async readCapped(body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown }): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > this.options.maxResponseBytes) {
        const error = new ResponseTooLargeError(`the response exceeded ${this.options.maxResponseBytes} bytes (provider.maxResponseBytes)`);
        body.destroy(error);
        throw error;
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
