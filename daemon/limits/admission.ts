// Admission: a request goes out only when the request and token buckets both have room,
// in arrival order, and not while the provider has told us to hold off. The buckets start
// from the spec's limits, learn the provider's own limits from its headers when the spec
// gives none, and are corrected by what the provider says remains.
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

export interface Ticket {
  readonly tokens: number;
  /** Tokens admitted in total before this ticket: lets a header be matched to its moment. */
  readonly admittedTokensBefore: number;
  readonly admittedRequestsBefore: number;
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
  resolve: (ticket: Ticket) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class Admission implements AdmissionControl {
  private requests: TokenBucket | null;
  private tokens: TokenBucket | null;
  private holdUntil = 0;
  private admittedTokens = 0;
  private admittedRequests = 0;
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

  /** Resolves when a request of `tokens` may be sent. */
  acquire(tokens: number, signal?: AbortSignal): Promise<Ticket> {
    if (this.tokens && tokens > this.tokens.limit) {
      return Promise.reject(
        new RequestTooLargeError(
          `a request of ${tokens} tokens can never fit the limit of ${this.tokens.limit} tokens per minute`,
        ),
      );
    }
    signal?.throwIfAborted();
    return new Promise<Ticket>((resolve, reject) => {
      const waiter: Waiter = {
        tokens,
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

  /** Reconciles a ticket with what the provider actually counted (prompt + max output). */
  settle(ticket: Ticket, chargedTokens: number): void {
    this.tokens?.adjust(ticket.tokens - chargedTokens, this.options.clock.now());
    this.pump();
  }

  /** Applies the provider's view after a response to `ticket`. */
  observe(ticket: Ticket, snapshot: RateLimitSnapshot): void {
    const now = this.options.clock.now();
    if (!this.requests && snapshot.limitRequests) {
      this.requests = new TokenBucket(snapshot.limitRequests, 1, this.options.windowMs, now, snapshot.remainingRequests);
    }
    if (!this.tokens && snapshot.limitTokens) {
      this.tokens = new TokenBucket(
        snapshot.limitTokens,
        this.options.largestRequestTokens,
        this.options.windowMs,
        now,
        snapshot.remainingTokens,
      );
    }
    // What the provider says remains does not yet count requests we admitted after this one.
    if (this.requests && snapshot.remainingRequests !== undefined) {
      const since = this.admittedRequests - ticket.admittedRequestsBefore - 1;
      this.requests.clampTo(snapshot.remainingRequests - since, now);
    }
    if (this.tokens && snapshot.remainingTokens !== undefined) {
      const since = this.admittedTokens - ticket.admittedTokensBefore - ticket.tokens;
      this.tokens.clampTo(snapshot.remainingTokens - since, now);
    }
    this.pump();
  }

  /** After a 429: nothing goes out for `ms`, and the buckets restart empty. */
  holdFor(ms: number): void {
    const now = this.options.clock.now();
    this.holdUntil = Math.max(this.holdUntil, now + ms);
    this.requests?.drain(now);
    this.tokens?.drain(now);
    this.pump();
  }

  headroom(): Headroom {
    const now = this.options.clock.now();
    const view = (bucket: TokenBucket | null) =>
      bucket ? { limit: bucket.limit, available: Math.max(0, Math.floor(bucket.available(now))) } : null;
    return { requests: view(this.requests), tokens: view(this.tokens), holdMs: Math.max(0, this.holdUntil - now) };
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
      );
      if (wait > 0) {
        if (Number.isFinite(wait)) this.cancelTimer = clock.schedule(() => this.pump(), wait);
        return;
      }
      this.queue.shift();
      head.signal?.removeEventListener('abort', head.onAbort);
      const ticket: Ticket = {
        tokens: head.tokens,
        admittedTokensBefore: this.admittedTokens,
        admittedRequestsBefore: this.admittedRequests,
      };
      this.requests?.take(1, now);
      this.tokens?.take(head.tokens, now);
      this.admittedRequests += 1;
      this.admittedTokens += head.tokens;
      head.resolve(ticket);
    }
    const now = clock.now();
    this.requests?.idle(now);
    this.tokens?.idle(now);
  }
}
