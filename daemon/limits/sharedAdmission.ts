// Admission for engines that share one provider limit (several processes or machines, one
// endpoint + key + model): the buckets live in Redis and every engine takes from them, in
// arrival order within each engine. A 429 sets a cooldown that every engine honours.
//
// When Redis stops answering, each engine falls back to local buckets holding its share of
// the limit (limit ÷ the live workers it last saw), starting empty so the switch makes no
// burst; a heartbeat notices when Redis answers again and the engine goes back to it. The
// shared bucket then holds at most its capacity, so the window that spans the switch stays
// within the same bound as any other (capacity + rate × window).
import { randomUUID } from 'node:crypto';
import type { RateLimitSnapshot } from '../provider/rateLimitHeaders';
import { RequestTooLargeError, type Headroom, type Ticket } from './admission';
import type { AdmissionControl } from './admissionControl';
import type { Clock } from './clock';
import { SharedLimitStore, sharedLimitKey, type SharedLimitIdentity } from './sharedLimitStore';
import { TokenBucket } from './tokenBucket';

export interface SharedAdmissionOptions {
  redisUrl: string;
  keyPrefix: string;
  identity: SharedLimitIdentity;
  rpm?: number | undefined;
  tpm?: number | undefined;
  largestRequestTokens: number;
  windowMs: number;
  clock: Clock;
  log: (level: 'info' | 'warn', message: string) => void;
  /** How often the worker says it is alive (and, while on the fallback, asks whether Redis is back). */
  heartbeatMs?: number;
}

/** Redis could not be reached when the job started: the job must not guess its share. */
export class SharedLimitUnavailableError extends Error {
  override readonly name = 'SharedLimitUnavailableError';
}

interface Waiter {
  tokens: number;
  resolve: (ticket: Ticket) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  aborted: boolean;
}

/** Local buckets holding this worker's share of the limit while Redis is away. */
interface Fallback {
  requests: TokenBucket | null;
  tokens: TokenBucket | null;
  workers: number;
}

/** The longest a waiting head sleeps before asking again (cooldowns, a returning Redis). */
const maxPollMs = 250;

function redact(url: string): string {
  const parsed = new URL(url);
  parsed.password = parsed.password ? '***' : '';
  return parsed.toString();
}

export class SharedAdmission implements AdmissionControl {
  private readonly queue: Waiter[] = [];
  private readonly takenFrom = new WeakMap<Ticket, 'redis' | Fallback>();
  private fallback: Fallback | null = null;
  private liveWorkers: number;
  private levels: { requests: number | null; tokens: number | null } = { requests: null, tokens: null };
  private holdUntil = 0;
  private admittedTokens = 0;
  private admittedRequests = 0;
  private serving = false;
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    private readonly options: SharedAdmissionOptions,
    private readonly store: SharedLimitStore,
    liveWorkers: number,
  ) {
    this.liveWorkers = liveWorkers;
    this.heartbeat = setInterval(() => void this.beat(), options.heartbeatMs ?? 1000);
    this.heartbeat.unref();
  }

  static async open(options: SharedAdmissionOptions): Promise<SharedAdmission> {
    if (!options.rpm && !options.tpm) {
      throw new SharedLimitUnavailableError('a shared limit needs limits.rpm and/or limits.tpm: the provider limit the engines share');
    }
    const capacity = (limit: number | undefined, largest: number) =>
      limit ? new TokenBucket(limit, largest, options.windowMs, 0).capacity : 0;
    const heartbeatMs = options.heartbeatMs ?? 1000;
    try {
      const { store, liveWorkers } = await SharedLimitStore.open(
        options.redisUrl,
        sharedLimitKey(options.keyPrefix, options.identity),
        randomUUID(),
        {
          rpm: options.rpm ?? 0,
          tpm: options.tpm ?? 0,
          requestCapacity: capacity(options.rpm, 1),
          tokenCapacity: capacity(options.tpm, options.largestRequestTokens),
          windowMs: options.windowMs,
        },
        // A worker missing five heartbeats in a row has stopped (or lost Redis itself).
        heartbeatMs * 5,
      );
      return new SharedAdmission(options, store, liveWorkers);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SharedLimitUnavailableError(
        `limits.shared: cannot reach Redis at ${redact(options.redisUrl)} (${reason}). Start Redis or fix the URL; without it this engine cannot know its share of the limit.`,
      );
    }
  }

  acquire(tokens: number, signal?: AbortSignal): Promise<Ticket> {
    const { tpm } = this.options;
    if (tpm && tokens > tpm) {
      return Promise.reject(new RequestTooLargeError(`a request of ${tokens} tokens can never fit the limit of ${tpm} tokens per minute`));
    }
    signal?.throwIfAborted();
    return new Promise<Ticket>((resolve, reject) => {
      const waiter: Waiter = {
        tokens, resolve, reject, signal, aborted: false,
        onAbort: () => {
          // The head may be in Redis right now: it is skipped (and refunded) when the answer comes.
          waiter.aborted = true;
          reject(signal?.reason instanceof Error ? signal.reason : new Error('admission aborted'));
          this.wake?.();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      void this.serve();
    });
  }

  settle(ticket: Ticket, chargedTokens: number): void {
    const delta = ticket.tokens - chargedTokens;
    const from = this.takenFrom.get(ticket);
    if (delta === 0 || !from || !this.options.tpm) return;
    if (from === 'redis') {
      // Lost if Redis is away: the bucket then only errs on the safe side.
      this.store.adjustTokens(delta).catch((error: unknown) => this.fallBack(error));
    } else {
      from.tokens?.adjust(delta, this.options.clock.now());
    }
    this.wake?.();
  }

  /**
   * The provider's remaining counts are not used: other engines' requests race with them,
   * and the shared bucket already counts every engine. A 429 (holdFor) is the correction.
   */
  observe(ticket: Ticket, snapshot: RateLimitSnapshot): void {
    void ticket;
    void snapshot;
  }

  holdFor(ms: number): void {
    const now = this.options.clock.now();
    this.holdUntil = Math.max(this.holdUntil, now + ms);
    this.fallback?.requests?.drain(now);
    this.fallback?.tokens?.drain(now);
    if (!this.fallback) this.store.hold(ms).catch((error: unknown) => this.fallBack(error));
  }

  /** A 529 is this provider's load, seen by this engine: only it waits; the shared buckets are untouched. */
  pauseFor(ms: number): void {
    this.holdUntil = Math.max(this.holdUntil, this.options.clock.now() + ms);
  }

  headroom(): Headroom {
    const now = this.options.clock.now();
    const { rpm, tpm } = this.options;
    const local = (bucket: TokenBucket | null | undefined) => (bucket ? Math.max(0, Math.floor(bucket.available(now))) : 0);
    const requests = this.fallback ? local(this.fallback.requests) : (this.levels.requests ?? 0);
    const tokens = this.fallback ? local(this.fallback.tokens) : (this.levels.tokens ?? 0);
    return {
      requests: rpm ? { limit: rpm, available: requests } : null,
      tokens: tpm ? { limit: tpm, available: tokens } : null,
      holdMs: Math.max(0, this.holdUntil - now),
    };
  }

  get waiting(): number {
    return this.queue.filter((waiter) => !waiter.aborted).length;
  }

  /** Whether this worker is on its local share because Redis is away. */
  get fallenBack(): boolean {
    return this.fallback !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.wake?.();
    await this.store.close();
  }

  private async serve(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      while (!this.closed) {
        while (this.queue[0]?.aborted) this.queue.shift();
        const head = this.queue[0];
        if (!head) return;
        const wait = await this.tryTake(head);
        if (wait > 0) {
          await this.sleep(Math.min(wait, maxPollMs));
          continue;
        }
        this.queue.shift();
        head.signal?.removeEventListener('abort', head.onAbort);
      }
    } finally {
      this.serving = false;
    }
  }

  /** Takes the head's request and tokens (0) or says how long to wait. */
  private async tryTake(head: Waiter): Promise<number> {
    const now = this.options.clock.now();
    if (this.holdUntil > now) return this.holdUntil - now;
    let from: 'redis' | Fallback;
    if (!this.fallback) {
      try {
        const answer = await this.store.acquire(head.tokens);
        this.liveWorkers = answer.liveWorkers;
        this.levels = { requests: answer.requestsLevel, tokens: answer.tokensLevel };
        if (answer.waitMs > 0) return answer.waitMs;
        from = 'redis';
      } catch (error) {
        this.fallBack(error);
        return this.fallback ? this.tryTake(head) : maxPollMs;
      }
    } else {
      const fallback = this.fallback;
      const wait = Math.max(fallback.requests?.waitMs(1, now) ?? 0, fallback.tokens?.waitMs(head.tokens, now) ?? 0);
      if (wait > 0) return wait;
      fallback.requests?.take(1, now);
      fallback.tokens?.take(head.tokens, now);
      from = fallback;
    }
    // The shared buckets count prompt + max output together: the input / output split (and
    // the header matching that the admitted* counts serve) is the local Admission's alone.
    const ticket: Ticket = {
      tokens: head.tokens,
      parts: { input: head.tokens, output: 0 },
      admittedTokensBefore: this.admittedTokens,
      admittedRequestsBefore: this.admittedRequests,
      admittedInputBefore: 0,
      admittedOutputBefore: 0,
    };
    this.takenFrom.set(ticket, from);
    if (head.aborted) {
      // Given up while its turn came: the tokens go back (the one request stays counted).
      this.settle(ticket, 0);
      return 0;
    }
    this.admittedRequests += 1;
    this.admittedTokens += head.tokens;
    head.resolve(ticket);
    return 0;
  }

  private fallBack(error: unknown): void {
    if (this.fallback || this.closed) return;
    const now = this.options.clock.now();
    const workers = Math.max(1, this.liveWorkers);
    const { rpm, tpm, windowMs, largestRequestTokens } = this.options;
    // Empty at first: what this worker took from Redis in the last window is not forgotten.
    this.fallback = {
      requests: rpm ? new TokenBucket(rpm / workers, 1, windowMs, now, 0) : null,
      tokens: tpm ? new TokenBucket(tpm / workers, largestRequestTokens, windowMs, now, 0) : null,
      workers,
    };
    const reason = error instanceof Error ? error.message : String(error);
    const share = [rpm ? `${Math.floor(rpm / workers)} rpm` : null, tpm ? `${Math.floor(tpm / workers)} tpm` : null].filter(Boolean).join(', ');
    this.options.log('warn', `shared limit: Redis is not answering (${reason}); limiting this engine to ${share} (the limit ÷ ${workers} live workers) until it does`);
  }

  private async beat(): Promise<void> {
    try {
      this.liveWorkers = await this.store.heartbeat();
      if (this.fallback) {
        this.fallback = null;
        this.options.log('info', `shared limit: Redis answers again; back to the shared limit (${this.liveWorkers} live workers)`);
        this.wake?.();
      }
    } catch (error) {
      this.fallBack(error);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.options.clock.schedule(() => done(), ms);
      const done = () => {
        cancel();
        this.wake = null;
        resolve();
      };
      this.wake = done;
    });
  }
}
