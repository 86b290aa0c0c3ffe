// What differs between the wire formats Drover speaks: where a request goes, how it is
// authenticated and shaped, how the answer, the errors and the rate-limit headers read.
// Everything else — the pool, deadlines, the response cap, classification into retry /
// split / fatal, key redaction — is ProviderClient's, once for every API.
import type { ChatRequestBody } from '../pipeline/requestBuilder';
import type { CallError } from './errorClass';
import type { HeaderGetter, RateLimitSnapshot } from './rateLimitHeaders';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type ParsedAnswer =
  | { ok: true; content: string; finishReason: string | null; usage: Usage | null }
  | (CallError & { ok: false; usage: Usage | null });

export interface ProviderApi {
  /** Appended to the endpoint's base URL, e.g. `/chat/completions`. */
  readonly path: string;
  /** Authentication and versioning headers; the key stays in memory. */
  headers(apiKey: string | undefined): Record<string, string>;
  /**
   * The packed request arrives in chat-completions form (what RequestBuilder makes and the
   * OpenAI API sends as is); another API translates it.
   */
  buildBody(request: ChatRequestBody): unknown;
  readRateLimits(header: HeaderGetter): RateLimitSnapshot;
  classifyHttpError(status: number, json: unknown, text: string, baseUrl: string): CallError;
  /** A 2xx body: the answer's text, or why it cannot be used. */
  parseAnswer(status: number, json: unknown, text: string): ParsedAnswer;
}

/**
 * What a response means, whether it came over HTTP (the online path) or as one line of a
 * batch output file: one reading for both, so a batch answer is judged like an online one.
 */
export function readAnswer(api: ProviderApi, status: number, json: unknown, text: string, baseUrl: string): ParsedAnswer {
  if (status < 200 || status >= 300) return { ok: false, ...api.classifyHttpError(status, json, text, baseUrl), usage: null };
  return api.parseAnswer(status, json, text);
}
