// The state one running mock shares between its routes.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { AnthropicRateLimiter } from './anthropic/anthropicLimiter';
import { MessageBatchStore } from './anthropic/messageBatchStore';
import { BatchStore } from './batchStore';
import { FaultInjector } from './faults';
import { FileStore } from './fileStore';
import { type MockLlmOptions } from './options';
import { RateLimiter } from './rateLimiter';
import { StatsCollector } from './stats';

export class MockContext {
  readonly models: ReadonlySet<string>;
  readonly limiter: RateLimiter;
  /** /v1/messages has Anthropic's limits (RPM, ITPM, OTPM), apart from chat completions'. */
  readonly anthropicLimiter: AnthropicRateLimiter;
  readonly messageBatches: MessageBatchStore;
  readonly faults: FaultInjector;
  readonly stats: StatsCollector;
  readonly files = new FileStore();
  readonly batches: BatchStore;
  /** Aborted when the server stops, to cut latency sleeps and streams short. */
  readonly stopping = new AbortController();
  /** Admitted requests since start, for --quota-after (not reset with the stats). */
  admittedRequests = 0;
  private readonly idPrefix = randomBytes(6).toString('hex');
  private sequence = 0;
  /** The rate limiter's clock. */
  readonly now: () => number;

  constructor(
    readonly options: MockLlmOptions,
    now: () => number,
  ) {
    // Every request's latency sleep listens for the server stopping: hundreds at once are normal.
    setMaxListeners(0, this.stopping.signal);
    this.models = new Set(options.models);
    this.limiter = new RateLimiter(options, now);
    this.anthropicLimiter = new AnthropicRateLimiter(options, now);
    this.messageBatches = new MessageBatchStore(options, now);
    this.faults = new FaultInjector(options);
    this.stats = new StatsCollector(options.windowMs, options.trackRecords, options.trackArrivals);
    this.batches = new BatchStore(this, this.files);
    this.now = now;
  }

  nextId(prefix: string): string {
    return `${prefix}${this.idPrefix}${(++this.sequence).toString(36)}`;
  }

  /** Headers every /v1 answer carries: a request id, and the limits when they are shown. */
  responseHeaders(): Record<string, string> {
    const headers: Record<string, string> = { 'x-request-id': this.nextId('req_') };
    if (this.options.rateLimitHeaders && this.limiter.limited) Object.assign(headers, this.limiter.headers());
    return headers;
  }
}
