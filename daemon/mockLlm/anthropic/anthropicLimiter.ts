// Anthropic's limits over a true sliding window: requests (RPM), input tokens (ITPM) counted
// when a request is admitted, and output tokens (OTPM) counted as they are written — a
// request is refused while the window's output already fills the OTPM. The headers are
// Anthropic's `anthropic-ratelimit-*`, resets as RFC 3339 timestamps.
import { SlidingWindow } from '../slidingWindow';
import { type AnthropicError, anthropicRateLimited } from './anthropicErrors';

export interface AnthropicLimits {
  rpm?: number | undefined;
  itpm?: number | undefined;
  otpm?: number | undefined;
  windowMs: number;
}

export class AnthropicRateLimiter {
  /** Admitted requests with their input tokens. */
  private readonly input: SlidingWindow;
  /** Output tokens, entered when each answer is written. */
  private readonly output: SlidingWindow;

  constructor(
    private readonly limits: AnthropicLimits,
    private readonly now: () => number,
  ) {
    this.input = new SlidingWindow(limits.windowMs);
    this.output = new SlidingWindow(limits.windowMs);
  }

  get limited(): boolean {
    return this.limits.rpm !== undefined || this.limits.itpm !== undefined || this.limits.otpm !== undefined;
  }

  get requestsInWindow(): number {
    return this.input.requests;
  }

  get inputTokensInWindow(): number {
    return this.input.tokens;
  }

  /** Admits the request (and records it) or returns the 429 to answer. */
  admit(inputTokens: number): AnthropicError | undefined {
    const now = this.now();
    this.input.expire(now);
    this.output.expire(now);
    const { rpm, itpm, otpm } = this.limits;
    const waits: { kind: string; limit: number; ms: number }[] = [];
    if (rpm !== undefined) waits.push({ kind: 'requests', limit: rpm, ms: this.input.msUntilRequestsAtMost(now, rpm - 1) });
    if (itpm !== undefined) waits.push({ kind: 'input tokens', limit: itpm, ms: this.input.msUntilTokensAtMost(now, itpm - inputTokens) });
    if (otpm !== undefined) waits.push({ kind: 'output tokens', limit: otpm, ms: this.output.msUntilTokensAtMost(now, otpm - 1) });
    const longest = waits.reduce<(typeof waits)[number] | undefined>((worst, wait) => (wait.ms > (worst?.ms ?? 0) ? wait : worst), undefined);
    if (longest) return anthropicRateLimited(longest.kind, longest.limit, longest.ms);
    this.input.add(now, inputTokens);
    return undefined;
  }

  /** The output an answer wrote counts against the OTPM from now on. */
  wrote(outputTokens: number): void {
    const now = this.now();
    this.output.expire(now);
    this.output.add(now, outputTokens);
  }

  headers(): Record<string, string> {
    const now = this.now();
    this.input.expire(now);
    this.output.expire(now);
    const at = (window: SlidingWindow) => new Date(Date.now() + window.msUntilEmpty(now)).toISOString();
    const headers: Record<string, string> = {};
    const set = (kind: string, limit: number, remaining: number, reset: string) => {
      headers[`anthropic-ratelimit-${kind}-limit`] = String(limit);
      headers[`anthropic-ratelimit-${kind}-remaining`] = String(Math.max(0, remaining));
      headers[`anthropic-ratelimit-${kind}-reset`] = reset;
    };
    const { rpm, itpm, otpm } = this.limits;
    if (rpm !== undefined) set('requests', rpm, rpm - this.input.requests, at(this.input));
    const tokenLimits: { limit: number; remaining: number; reset: string }[] = [];
    if (itpm !== undefined) tokenLimits.push({ limit: itpm, remaining: itpm - this.input.tokens, reset: at(this.input) });
    if (otpm !== undefined) tokenLimits.push({ limit: otpm, remaining: otpm - this.output.tokens, reset: at(this.output) });
    if (itpm !== undefined) set('input-tokens', itpm, itpm - this.input.tokens, at(this.input));
    if (otpm !== undefined) set('output-tokens', otpm, otpm - this.output.tokens, at(this.output));
    // `tokens-*`: the most restrictive token limit in effect, as Anthropic reports it.
    const tightest = tokenLimits.sort((a, b) => a.remaining - b.remaining)[0];
    if (tightest) set('tokens', tightest.limit, tightest.remaining, tightest.reset);
    return headers;
  }
}
