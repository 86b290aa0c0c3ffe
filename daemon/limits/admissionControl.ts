// What the pipeline asks of admission, whoever keeps the limit: this process alone
// (`Admission`, token buckets in memory) or every engine sharing one provider limit
// (`SharedAdmission`, token buckets in Redis).
import type { RateLimitSnapshot } from '../provider/rateLimitHeaders';
import type { Headroom, Ticket, TokenParts } from './admission';

export interface AdmissionControl {
  /**
   * Resolves when a request of `tokens` may be sent; `parts` splits them into input and
   * output for a provider that limits each (Anthropic).
   */
  acquire(tokens: number, signal?: AbortSignal, parts?: TokenParts): Promise<Ticket>;
  /** Reconciles a ticket with what the provider actually counted (prompt + max output; `used`, input and output). */
  settle(ticket: Ticket, chargedTokens: number, used?: TokenParts): void;
  /** Applies the provider's view after a response to `ticket`. */
  observe(ticket: Ticket, snapshot: RateLimitSnapshot): void;
  /** After a 429: nothing goes out for `ms`. */
  holdFor(ms: number): void;
  /** The provider is overloaded (a 529), not at our limit: nothing goes out for `ms`, the buckets untouched. */
  pauseFor(ms: number): void;
  headroom(): Headroom;
  readonly waiting: number;
  /** Releases what the limiter holds outside this process (connections, registrations). */
  close(): Promise<void>;
}
