// The Anthropic Messages API, natively: POST {baseUrl}/messages with x-api-key and a
// pinned anthropic-version.
import type { ProviderApi } from '../providerApi';
import { classifyAnthropicError } from './anthropicErrors';
import { readAnthropicRateLimitHeaders } from './anthropicRateLimits';
import { messagesBody } from './messagesBody';
import { parseMessage } from './messagesResponse';

/** The API version whose shapes this module reads; Anthropic keeps each version stable. */
export const anthropicVersion = '2023-06-01';

export function anthropicHeaders(apiKey: string | undefined): Record<string, string> {
  return { 'anthropic-version': anthropicVersion, ...(apiKey ? { 'x-api-key': apiKey } : {}) };
}

export const anthropicApi: ProviderApi = {
  path: '/messages',
  headers: anthropicHeaders,
  buildBody: messagesBody,
  readRateLimits: (header) => readAnthropicRateLimitHeaders(header),
  classifyHttpError: classifyAnthropicError,
  parseAnswer: parseMessage,
};
