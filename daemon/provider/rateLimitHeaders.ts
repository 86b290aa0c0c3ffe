// Reads what a provider says about its limits: `x-ratelimit-*` headers and `retry-after`.
// Providers send odd values (`-1`, `abc`, empty); those are ignored, never turned into NaN
// waits or crashes.

export type HeaderGetter = (name: string) => string | undefined;

export interface RateLimitSnapshot {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  /** Milliseconds until the request/token limit resets, from the moment of the response. */
  resetRequestsMs?: number;
  resetTokensMs?: number;
  /**
   * Anthropic limits input and output tokens separately (ITPM, OTPM); these stay undefined
   * for providers with one token limit.
   */
  limitInputTokens?: number;
  remainingInputTokens?: number;
  resetInputTokensMs?: number;
  limitOutputTokens?: number;
  remainingOutputTokens?: number;
  resetOutputTokensMs?: number;
}

const durationPart = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** OpenAI's durations: `20ms`, `1s`, `1.5s`, `6m0s`, `1h2m3.5s`. Undefined when not one. */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000; // bare seconds
  durationPart.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = durationPart.exec(trimmed); match; match = durationPart.exec(trimmed)) {
    total += Number(match[1]) * (unitMs[match[2] ?? ''] ?? Number.NaN);
    consumed = durationPart.lastIndex;
  }
  return consumed === trimmed.length && Number.isFinite(total) ? total : undefined;
}

export function nonNegativeNumber(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

export function readRateLimitHeaders(header: HeaderGetter): RateLimitSnapshot {
  return {
    limitRequests: nonNegativeNumber(header('x-ratelimit-limit-requests')),
    limitTokens: nonNegativeNumber(header('x-ratelimit-limit-tokens')),
    remainingRequests: nonNegativeNumber(header('x-ratelimit-remaining-requests')),
    remainingTokens: nonNegativeNumber(header('x-ratelimit-remaining-tokens')),
    resetRequestsMs: parseDurationMs(header('x-ratelimit-reset-requests')),
    resetTokensMs: parseDurationMs(header('x-ratelimit-reset-tokens')),
  };
}

/**
 * How long the provider asks us to wait: `retry-after-ms`, else `retry-after` in seconds or
 * as an HTTP date. Undefined when absent or unreadable.
 */
export function readRetryAfterMs(header: HeaderGetter, nowMs: number = Date.now()): number | undefined {
  const milliseconds = nonNegativeNumber(header('retry-after-ms'));
  if (milliseconds !== undefined) return milliseconds;
  const retryAfter = header('retry-after')?.trim();
  if (!retryAfter) return undefined;
  const seconds = nonNegativeNumber(retryAfter);
  if (seconds !== undefined) return seconds * 1000;
  const date = Date.parse(retryAfter);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : undefined;
}
