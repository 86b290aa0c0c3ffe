// Admission: a request goes out only when the request and token buckets both have room,
// in arrival order, and not while the provider has told us to hold off. The buckets start
// from the spec's limits, learn the provider's own limits from its headers when the spec
// gives none, and are corrected by what the provider says remains. A provider that limits
// input and output tokens apart (Anthropic's ITPM and OTPM) gets a bucket for each, learned
// from its headers: the prompt is charged to one, the output allowance to the other.
import type { RateLimitSnapshot } from '../provider/rateLimitHeaders';
import type { AdmissionControl } from './admissionControl';
import type { Clock } from './clock';
import { TokenBucket } from './tokenBucket';

export interface AdmissionOptions {
  rpm?: number;
  tpm?: number;
  /** The largest token cost one request can have (prompt + max output). */
  largestRequestTokens: number;
  windowMs: number;
  clock: Clock;
  /**
   * How long before now this job last sent a request (undefined: never, or long ago). A
   * run that resumes within a window of the last one starts with buckets that refilled
   * only for that long, so the old run's requests and the new run's burst never add up
   * past the limit in one window.
   */
  quietMs?: number;
}

/** A request's tokens split as a provider with separate input and output limits counts them. */
export interface TokenParts {
  input: number;
  output: number;
}

export interface Ticket {
  readonly tokens: number;
  readonly parts: TokenParts;
  /** Tokens admitted in total before this ticket: lets a header be matched to its moment. */
  readonly admittedTokensBefore: number;
  readonly admittedRequestsBefore: number;
  readonly admittedInputBefore: number;
  readonly admittedOutputBefore: number;
}

export interface Headroom {
  requests: { limit: number; available: number } | null;
  tokens: { limit: number; available: number } | null;
  holdMs: number;
}

export class RequestTooLargeError extends Error {
  override readonly name = 'RequestTooLargeError';
}

interface Waiter {
  tokens: number;
  parts: TokenParts;
  resolve: (ticket: Ticket) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class Admission implements AdmissionControl {
  private requests: TokenBucket | null;
  private tokens: TokenBucket | null;
  private inputTokens: TokenBucket | null = null;
  private outputTokens: TokenBucket | null = null;
  private holdUntil = 0;
  private admittedTokens = 0;
  private admittedRequests = 0;
  private admittedInput = 0;
  private admittedOutput = 0;
  private readonly queue: Waiter[] = [];
  private cancelTimer: (() => void) | null = null;

  constructor(private readonly options: AdmissionOptions) {
    const now = options.clock.now();
    this.requests = options.rpm ? this.resumed(new TokenBucket(options.rpm, 1, options.windowMs, now), now) : null;
    this.tokens = options.tpm ? this.resumed(new TokenBucket(options.tpm, options.largestRequestTokens, options.windowMs, now), now) : null;
  }

  private resumed(bucket: TokenBucket, now: number): TokenBucket {
    // As if the last run had left the bucket empty when it last sent: the two runs then
    // behave as one bucket, whose bound holds across the restart.
    if (this.options.quietMs !== undefined) bucket.clampTo(bucket.rate * Math.max(0, this.options.quietMs), now);
    return bucket;
  }

  /**
   * Resolves when a request of `tokens` may be sent; `parts` splits them into prompt and
   * output allowance for separate input and output limits (all input when absent).
   */
  acquire(tokens: number, signal?: AbortSignal, parts: TokenParts = { input: tokens, output: 0 }): Promise<Ticket> {
    const tooLarge = this.neverFits(tokens, parts);
    if (tooLarge) return Promise.reject(new RequestTooLargeError(tooLarge));
    signal?.throwIfAborted();
    return new Promise<Ticket>((resolve, reject) => {
      const waiter: Waiter = {
        tokens,
        parts,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(signal?.reason instanceof Error ? signal.reason : new Error('admission aborted'));
          this.pump();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  private neverFits(tokens: number, parts: TokenParts): string | undefined {
    if (this.tokens && tokens > this.tokens.limit) return `a request of ${tokens} tokens can never fit the limit of ${this.tokens.limit} tokens per minute`;
    if (this.inputTokens && parts.input > this.inputTokens.limit) {
      return `a prompt of ${parts.input} tokens can never fit the provider's limit of ${this.inputTokens.limit} input tokens per minute`;
    }
    if (this.outputTokens && parts.output > this.outputTokens.limit) {
      return `an output allowance of ${parts.output} tokens can never fit the provider's limit of ${this.outputTokens.limit} output tokens per minute`;
    }
    return undefined;
  }

  /**
   * Reconciles a ticket with what the provider actually counted: `chargedTokens` against the
   * combined limit (prompt + max output, as OpenAI counts), `used` against separate input
   * and output limits (the prompt and the output actually written, as Anthropic counts).
   * Without `used` the reservation stands.
   */
  settle(ticket: Ticket, chargedTokens: number, used: TokenParts = ticket.parts): void {
    const now = this.options.clock.now();
    this.tokens?.adjust(ticket.tokens - chargedTokens, now);
    this.inputTokens?.adjust(ticket.parts.input - used.input, now);
    this.outputTokens?.adjust(ticket.parts.output - used.output, now);
    this.pump();
  }

  /** Applies the provider's view after a response to `ticket`. */
  observe(ticket: Ticket, snapshot: RateLimitSnapshot): void {
    const now = this.options.clock.now();
    const largest = this.options.largestRequestTokens;
    // What the provider says remains does not yet count requests we admitted after this one.
    this.requests = this.learn(this.requests, snapshot.limitRequests, snapshot.remainingRequests, this.admittedRequests - ticket.admittedRequestsBefore - 1, 1, now);
    this.tokens = this.learn(this.tokens, snapshot.limitTokens, snapshot.remainingTokens, this.admittedTokens - ticket.admittedTokensBefore - ticket.tokens, largest, now);
    this.inputTokens = this.learn(this.inputTokens, snapshot.limitInputTokens, snapshot.remainingInputTokens, this.admittedInput - ticket.admittedInputBefore - ticket.parts.input, largest, now);
    this.outputTokens = this.learn(this.outputTokens, snapshot.limitOutputTokens, snapshot.remainingOutputTokens, this.admittedOutput - ticket.admittedOutputBefore - ticket.parts.output, largest, now);
    this.pump();
  }

  /**
   * A bucket corrected by what the provider says remains — created, when the spec set no
   * such limit, from the limit the provider states. A new bucket starts owing what the
   * provider already counted in its window (and what we sent since): those requests went
   * out before the bucket existed, and charging them to it is what keeps C + r·T, its
   * bound, true for the windows that include them.
   */
  private learn(bucket: TokenBucket | null, limit: number | undefined, remaining: number | undefined, since: number, largestCost: number, now: number): TokenBucket | null {
    if (!bucket && limit) {
      const learned = new TokenBucket(limit, largestCost, this.options.windowMs, now);
      if (remaining !== undefined) learned.adjust(-(limit - remaining + since), now);
      return learned;
    }
    if (bucket && remaining !== undefined) bucket.clampTo(remaining - since, now);
    return bucket;
  }

  /** After a 429: nothing goes out for `ms`, and the buckets restart empty. */
  holdFor(ms: number): void {
    const now = this.options.clock.now();
    this.holdUntil = Math.max(this.holdUntil, now + ms);
    this.requests?.drain(now);
    this.tokens?.drain(now);
    this.inputTokens?.drain(now);
    this.outputTokens?.drain(now);
    this.pump();
  }

  /**
   * The provider is busy (Anthropic's 529), not at our limit: nothing goes out for `ms`, and
   * the buckets keep what they hold, so the pace afterwards is the same as before.
   */
  pauseFor(ms: number): void {
    this.holdUntil = Math.max(this.holdUntil, this.options.clock.now() + ms);
    this.pump();
  }

  headroom(): Headroom {
    const now = this.options.clock.now();
    const view = (bucket: TokenBucket | null) =>
      bucket ? { limit: bucket.limit, available: Math.max(0, Math.floor(bucket.available(now))) } : null;
    // One token figure for the dashboard: the combined limit, else the input limit.
    return { requests: view(this.requests), tokens: view(this.tokens ?? this.inputTokens), holdMs: Math.max(0, this.holdUntil - now) };
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Nothing outside this process to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private pump(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    const { clock } = this.options;
    while (this.queue.length > 0) {
      const head = this.queue[0];
      const now = clock.now();
      const wait = Math.max(
        this.holdUntil - now,
        this.requests?.waitMs(1, now) ?? 0,
        this.tokens?.waitMs(head.tokens, now) ?? 0,
        this.inputTokens?.waitMs(head.parts.input, now) ?? 0,
        this.outputTokens?.waitMs(head.parts.output, now) ?? 0,
      );
      if (wait > 0) {
        if (Number.isFinite(wait)) this.cancelTimer = clock.schedule(() => this.pump(), wait);
        return;
      }
      this.queue.shift();
      head.signal?.removeEventListener('abort', head.onAbort);
      const ticket: Ticket = {
        tokens: head.tokens,
        parts: head.parts,
        admittedTokensBefore: this.admittedTokens,
        admittedRequestsBefore: this.admittedRequests,
        admittedInputBefore: this.admittedInput,
        admittedOutputBefore: this.admittedOutput,
      };
      this.requests?.take(1, now);
      this.tokens?.take(head.tokens, now);
      this.inputTokens?.take(head.parts.input, now);
      this.outputTokens?.take(head.parts.output, now);
      this.admittedRequests += 1;
      this.admittedTokens += head.tokens;
      this.admittedInput += head.parts.input;
      this.admittedOutput += head.parts.output;
      head.resolve(ticket);
    }
    const now = clock.now();
    this.requests?.idle(now);
    this.tokens?.idle(now);
    this.inputTokens?.idle(now);
    this.outputTokens?.idle(now);
  }
}
