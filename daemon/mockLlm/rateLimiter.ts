// RPM and TPM over a true sliding window: a request is admitted only if, counting it, the
// requests and tokens admitted in the last window stay within both limits. Rejections
// carry OpenAI's message and the exact wait until the same request would be admitted.
import { ApiError } from './errors';
import { SlidingWindow } from './slidingWindow';

export interface RateLimits {
  rpm?: number | undefined;
  tpm?: number | undefined;
  windowMs: number;
}

/** OpenAI's (Go's) duration format: `0s`, `20ms`, `1s`, `1.5s`, `6m0s`, `1m30s`, `1h2m3s`. */
export function openAiDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole === 0) return '0s';
  if (whole < 1000) return `${whole}ms`;
  const hours = Math.floor(whole / 3_600_000);
  const minutes = Math.floor((whole % 3_600_000) / 60_000);
  const seconds = `${(whole % 60_000) / 1000}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}

function rateLimitReached(kind: 'requests' | 'tokens', model: string, limit: number, used: number, requested: number, waitMs: number): ApiError {
  const unit = kind === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
  const retryMs = Math.ceil(waitMs);
  return new ApiError(
    429,
    `Rate limit reached for ${model} in organization org-drover-mock on ${unit}: Limit ${limit}, Used ${used}, ` +
      `Requested ${requested}. Please try again in ${openAiDuration(retryMs)}. ` +
      'Visit https://platform.openai.com/account/rate-limits to learn more.',
    kind,
    null,
    'rate_limit_exceeded',
    { 'retry-after': String(Math.ceil(retryMs / 1000)), 'retry-after-ms': String(retryMs) },
  );
}

function requestTooLarge(model: string, limit: number, requested: number): ApiError {
  return new ApiError(
    429,
    `Request too large for ${model} in organization org-drover-mock on tokens per min (TPM): Limit ${limit}, ` +
      `Requested ${requested}. The input or output tokens must be reduced in order to run successfully.`,
    'tokens',
    null,
    'rate_limit_exceeded',
  );
}

export class RateLimiter {
  private readonly window: SlidingWindow;

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number,
  ) {
    this.window = new SlidingWindow(limits.windowMs);
  }

  get limited(): boolean {
    return this.limits.rpm !== undefined || this.limits.tpm !== undefined;
  }

  /** The window as of the last admission: what `/stats` reports as the busiest window. */
  get requestsInWindow(): number {
    return this.window.requests;
  }

  get tokensInWindow(): number {
    return this.window.tokens;
  }

  /** Admits the request (and records it) or returns the 429 to answer. */
  admit(model: string, tokens: number): ApiError | undefined {
    const now = this.now();
    this.window.expire(now);
    const { rpm, tpm } = this.limits;
    if (tpm !== undefined && tokens > tpm) return requestTooLarge(model, tpm, tokens);
    const requestsWaitMs = rpm === undefined ? 0 : this.window.msUntilRequestsAtMost(now, rpm - 1);
    const tokensWaitMs = tpm === undefined ? 0 : this.window.msUntilTokensAtMost(now, tpm - tokens);
    if (requestsWaitMs === 0 && tokensWaitMs === 0) {
      this.window.add(now, tokens);
      return undefined;
    }
    // Report the limit that keeps the request out longer; its wait covers the other too.
    return requestsWaitMs >= tokensWaitMs
      ? rateLimitReached('requests', model, rpm!, this.window.requests, 1, requestsWaitMs)
      : rateLimitReached('tokens', model, tpm!, this.window.tokens, tokens, tokensWaitMs);
  }

  /** `x-ratelimit-*` for each limit that is set, as of now. */
  headers(): Record<string, string> {
    const now = this.now();
    this.window.expire(now);
    const reset = openAiDuration(this.window.msUntilEmpty(now));
    const headers: Record<string, string> = {};
    if (this.limits.rpm !== undefined) {
      headers['x-ratelimit-limit-requests'] = String(this.limits.rpm);
      headers['x-ratelimit-remaining-requests'] = String(Math.max(0, this.limits.rpm - this.window.requests));
      headers['x-ratelimit-reset-requests'] = reset;
    }
    if (this.limits.tpm !== undefined) {
      headers['x-ratelimit-limit-tokens'] = String(this.limits.tpm);
      headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, this.limits.tpm - this.window.tokens));
      headers['x-ratelimit-reset-tokens'] = reset;
    }
    return headers;
  }
}
