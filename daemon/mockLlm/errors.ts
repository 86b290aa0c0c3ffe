// OpenAI-shaped errors: `{"error":{"message","type","param","code"}}`, thrown by the
// handlers as ApiError and written by the server, so every failure has the same shape.

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  /** The JSON body; an API with another error shape overrides this. */
  body(): object {
    const body: OpenAiErrorBody = { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
    return body;
  }
}

export function invalidRequest(message: string, param: string | null, code: string | null = null): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code);
}

export function invalidUrl(method: string, path: string): ApiError {
  return new ApiError(404, `Invalid URL (${method} ${path})`, 'invalid_request_error');
}

export function modelNotFound(model: string): ApiError {
  return new ApiError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'invalid_request_error',
    null,
    'model_not_found',
  );
}

export function unparsableBody(): ApiError {
  return invalidRequest(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your " +
      'HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
    null,
  );
}

/** OpenAI shows the first and last characters of a wrong key, never the whole of it. */
export function maskApiKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 32))}${key.slice(-4)}`;
}

export function invalidApiKey(presented: string | undefined): ApiError {
  const message =
    presented === undefined
      ? "You didn't provide an API key. You need to provide your API key in an Authorization header using " +
        'Bearer auth (i.e. Authorization: Bearer YOUR_KEY).'
      : `Incorrect API key provided: ${maskApiKey(presented)}. You can find your API key at ` +
        'https://platform.openai.com/account/api-keys.';
  return new ApiError(401, message, 'invalid_request_error', null, 'invalid_api_key');
}

export function insufficientQuota(): ApiError {
  return new ApiError(
    429,
    'You exceeded your current quota, please check your plan and billing details. For more information on ' +
      'this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    'insufficient_quota',
    null,
    'insufficient_quota',
  );
}

export function contextLengthExceeded(context: number, promptTokens: number, maxTokens: number): ApiError {
  return invalidRequest(
    `This model's maximum context length is ${context} tokens. However, you requested ` +
      `${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). ` +
      'Please reduce the length of the messages or completion.',
    'messages',
    'context_length_exceeded',
  );
}

export function payloadTooLarge(limitBytes: number): ApiError {
  return new ApiError(413, `The request body is larger than ${limitBytes} bytes.`, 'invalid_request_error');
}

export function injectedServerError(status: 500 | 503): ApiError {
  return status === 500
    ? new ApiError(500, 'The server had an error while processing your request. Sorry about that!', 'server_error')
    : new ApiError(503, 'The engine is currently overloaded, please try again later.', 'server_error');
}
