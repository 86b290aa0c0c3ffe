// Anthropic's rate-limit headers: `anthropic-ratelimit-{requests,input-tokens,output-tokens,
// tokens}-{limit,remaining,reset}`, the resets as RFC 3339 timestamps. Odd values are
// ignored, as for every provider.
import { nonNegativeNumber, type HeaderGetter, type RateLimitSnapshot } from '../rateLimitHeaders';

const prefix = 'anthropic-ratelimit-';

/** Milliseconds from `nowMs` until an RFC 3339 timestamp (0 when it has passed); undefined when unreadable. */
export function msUntilTimestamp(text: string | undefined, nowMs: number): number | undefined {
  const trimmed = text?.trim();
  // Date.parse accepts far more than RFC 3339 (and reads a bare number as a year).
  if (!trimmed || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

export function readAnthropicRateLimitHeaders(header: HeaderGetter, nowMs: number = Date.now()): RateLimitSnapshot {
  const limit = (kind: string) => nonNegativeNumber(header(`${prefix}${kind}-limit`));
  const remaining = (kind: string) => nonNegativeNumber(header(`${prefix}${kind}-remaining`));
  const reset = (kind: string) => msUntilTimestamp(header(`${prefix}${kind}-reset`), nowMs);
  return {
    limitRequests: limit('requests'),
    remainingRequests: remaining('requests'),
    resetRequestsMs: reset('requests'),
    limitInputTokens: limit('input-tokens'),
    remainingInputTokens: remaining('input-tokens'),
    resetInputTokensMs: reset('input-tokens'),
    limitOutputTokens: limit('output-tokens'),
    remainingOutputTokens: remaining('output-tokens'),
    resetOutputTokensMs: reset('output-tokens'),
    // `tokens-*` is whichever token limit is most restrictive right now: not a limit of
    // prompt + output that a bucket could enforce, but its reset is when to try again
    // after a token 429.
    resetTokensMs: reset('tokens'),
  };
}
