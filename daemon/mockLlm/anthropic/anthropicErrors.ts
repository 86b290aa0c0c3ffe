// Anthropic-shaped errors: `{"type":"error","error":{"type","message"}}`, with Anthropic's
// statuses and wording, written by the same server code as OpenAI's.
import { ApiError } from '../errors';

export class AnthropicError extends ApiError {
  override body(): object {
    return { type: 'error', error: { type: this.type, message: this.message } };
  }
}

export function anthropicInvalidRequest(message: string): AnthropicError {
  return new AnthropicError(400, message, 'invalid_request_error');
}

export function anthropicAuthenticationError(): AnthropicError {
  return new AnthropicError(401, 'invalid x-api-key', 'authentication_error');
}

export function anthropicModelNotFound(model: string): AnthropicError {
  return new AnthropicError(404, `model: ${model}`, 'not_found_error');
}

export function anthropicNotFound(what: string): AnthropicError {
  return new AnthropicError(404, what, 'not_found_error');
}

export function promptTooLong(promptTokens: number, context: number): AnthropicError {
  return anthropicInvalidRequest(`prompt is too long: ${promptTokens} tokens > ${context} maximum`);
}

export function contextExceeded(promptTokens: number, maxTokens: number, context: number): AnthropicError {
  return anthropicInvalidRequest(
    `input length and \`max_tokens\` exceed context limit: ${promptTokens} + ${maxTokens} > ${context}, decrease input length or \`max_tokens\` and try again`,
  );
}

export function anthropicRateLimited(kind: string, limit: number, waitMs: number): AnthropicError {
  return new AnthropicError(
    429,
    `This request would exceed the rate limit for your organization (drover-mock) of ${limit} ${kind} per minute. ` +
      'For details, refer to: https://docs.claude.com/en/api/rate-limits.',
    'rate_limit_error',
    null,
    null,
    { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
  );
}

export function overloaded(): AnthropicError {
  return new AnthropicError(529, 'Overloaded', 'overloaded_error');
}

export function anthropicServerError(status: number): AnthropicError {
  return new AnthropicError(status, 'Internal server error', 'api_error');
}
