// What a failed call means for the job. Each class has one handling, decided here once:
//   retry  — back off (full jitter, honouring the provider's hints) and send again
//   split  — halve the batch; a single record that still fails is failed on its own
//   fatal  — stop admitting at once and pause the job with a message the user can act on
export type ErrorCategory = 'retry' | 'split' | 'fatal';

export interface CallError {
  errorClass: string;
  category: ErrorCategory;
  message: string;
  status?: number;
  retryAfterMs?: number;
}

interface ProviderErrorBody {
  message?: string;
  type?: string;
  code?: string;
}

/** Reads OpenAI-shaped errors and the other shapes providers use. */
export function providerError(body: unknown): ProviderErrorBody {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const inner = record.error;
  if (typeof inner === 'string') return { message: inner };
  const source = typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : record;
  const text = (value: unknown) => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined);
  return { message: text(source.message) ?? text(record.detail), type: text(source.type), code: text(source.code) };
}

export function classifyHttpError(status: number, body: unknown, fallbackText: string, baseUrl: string): CallError {
  const { message: providerMessage, type, code } = providerError(body);
  const said = providerMessage ?? (fallbackText.trim().slice(0, 300) || `HTTP ${status}`);
  const is = (value: string) => code === value || type === value;

  if (status === 429) {
    if (is('insufficient_quota')) {
      return { errorClass: 'insufficient_quota', category: 'fatal', status, message: `The provider says the account has no quota left: ${said} Add credit or raise the quota, then resume the job.` };
    }
    return { errorClass: 'rate_limited', category: 'retry', status, message: said };
  }
  if (status === 401) {
    return { errorClass: 'auth', category: 'fatal', status, message: `The provider rejected the API key (401): ${said} Set a valid key (the spec's provider.apiKeyEnv variable, or "Drover: Set API Key") and resume.` };
  }
  if (status === 403) {
    return { errorClass: 'forbidden', category: 'fatal', status, message: `The provider refused access (403): ${said} Check the key's permissions for this model and endpoint.` };
  }
  if (status === 404) {
    if (is('model_not_found') || /model/i.test(said)) {
      return { errorClass: 'unknown_model', category: 'fatal', status, message: `The provider does not know this model (404): ${said} Fix "model" in the spec.` };
    }
    return { errorClass: 'not_found', category: 'fatal', status, message: `${baseUrl}/chat/completions answered 404: ${said} Check provider.baseUrl (it usually ends in /v1).` };
  }
  if (status === 400 || status === 413 || status === 422) {
    if (is('context_length_exceeded') || /context length|context window|maximum context|too many tokens|too long/i.test(said)) {
      return { errorClass: 'context_length', category: 'split', status, message: said };
    }
    if (is('content_filter') || is('content_policy_violation') || /content (management )?polic|content filter/i.test(said)) {
      return { errorClass: 'content_filter', category: 'split', status, message: said };
    }
    return { errorClass: 'bad_request', category: 'split', status, message: `The provider refused the request (${status}): ${said}` };
  }
  if (status === 408 || status === 409 || status === 425 || status >= 500) {
    return { errorClass: `http_${status}`, category: 'retry', status, message: said };
  }
  return { errorClass: `http_${status}`, category: 'fatal', status, message: `Unexpected HTTP ${status} from ${baseUrl}: ${said}` };
}

const transportClasses: Record<string, string> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  UND_ERR_CLOSED: 'connection_reset',
  UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  UND_ERR_HEADERS_TIMEOUT: 'headers_timeout',
  UND_ERR_BODY_TIMEOUT: 'body_timeout',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  ETIMEDOUT: 'connect_timeout',
};

/** Network failures are retried; the engine pauses the job if the endpoint stays down. */
export function classifyTransportError(error: unknown, baseUrl: string): CallError {
  let cursor: unknown = error;
  for (let depth = 0; depth < 4 && cursor; depth += 1) {
    const code = (cursor as { code?: unknown }).code;
    if (typeof code === 'string' && transportClasses[code]) {
      const message = cursor instanceof Error ? cursor.message : code;
      return { errorClass: transportClasses[code], category: 'retry', message: `${baseUrl}: ${message} (${code})` };
    }
    cursor = (cursor as { cause?: unknown }).cause;
  }
  const message = error instanceof Error ? error.message : String(error);
  return { errorClass: 'network', category: 'retry', message: `${baseUrl}: ${message}` };
}
