// What the pipeline asks of admission, whoever keeps the limit: this process alone
// (`Admission`, token buckets in memory) or every engine sharing one provider limit
// (`SharedAdmission`, token buckets in Redis).
import type { RateLimitSnapshot } from '../provider/rateLimitHeaders';
import type { Headroom, Ticket } from './admission';

export interface AdmissionControl {
  /** Resolves when a request of `tokens` may be sent. */
  acquire(tokens: number, signal?: AbortSignal): Promise<Ticket>;
  /** Reconciles a ticket with what the provider actually counted (prompt + max output). */
  settle(ticket: Ticket, chargedTokens: number): void;
  /** Applies the provider's view after a response to `ticket`. */
  observe(ticket: Ticket, snapshot: RateLimitSnapshot): void;
  /** After a 429: nothing goes out for `ms`. */
  holdFor(ms: number): void;
  headroom(): Headroom;
  readonly waiting: number;
  /** Releases what the limiter holds outside this process (connections, registrations). */
  close(): Promise<void>;
}
