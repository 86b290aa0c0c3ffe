// Tells an outage of the endpoint from trouble with some records. A request that fails
// while others succeed may be the records' fault, so it uses up their attempts; when
// requests with no record in common fail with nothing answered between them, the endpoint
// is down and the records are not to blame. (A record the provider always refuses is in
// every piece its batch is split into, so its failures never look like an outage.) An outage is waited out, with backoff, for a while — a blip or a
// restart of the provider must not pause a multi-hour job — and then the job pauses. An
// endpoint that has not answered once since the job started pauses it sooner: that is
// usually a wrong URL, and the user is there to see it.
import type { Clock } from '../limits/clock';

export interface EndpointHealthOptions {
  /** Failures in a row before the endpoint can be called down. */
  threshold: number;
  /** How long an endpoint that has answered before may fail in a row before the job pauses. */
  downAfterMs: number;
  /** Requests in flight at most: one round of failures is this many. */
  concurrency: number;
}

export class EndpointHealth {
  private failures = 0;
  private streakStartedAt = 0;
  /** The records every failed request of the current streak had in common. */
  private common: Set<string> | null = null;
  private answeredOnce = false;

  constructor(
    private readonly clock: Clock,
    private readonly options: EndpointHealthOptions,
  ) {}

  /** The endpoint gave an answer (any answer but a transport failure or a 5xx). */
  answered(): void {
    this.answeredOnce = true;
    this.failures = 0;
    this.common = null;
  }

  /** A request for these records failed at the endpoint. */
  failed(keys: readonly string[]): void {
    if (this.failures === 0) this.streakStartedAt = this.clock.now();
    this.failures += 1;
    this.common = this.common === null ? new Set(keys) : new Set(keys.filter((key) => this.common?.has(key)));
  }

  get failuresInARow(): number {
    return this.failures;
  }

  /** Requests with no record in common failed, and nothing was answered between them. */
  get outage(): boolean {
    return this.failures >= 2 && this.common !== null && this.common.size === 0;
  }

  /** Rounds of failures (every request in flight failing once is one): the backoff exponent. */
  get rounds(): number {
    return Math.ceil(this.failures / this.options.concurrency);
  }

  /** Time to stop waiting and pause the job. */
  get down(): boolean {
    if (this.failures < this.options.threshold) return false;
    return !this.answeredOnce || this.clock.now() - this.streakStartedAt >= this.options.downAfterMs;
  }
}
