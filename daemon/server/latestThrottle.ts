// Sends at most one value per interval and never loses the last one: a value offered too
// soon waits, replaced by any newer one, until the interval has passed. This is how
// job.progress stays at 10 per second per client however fast the job runs.
export interface ThrottleTimers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: ThrottleTimers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class LatestThrottle<T> {
  private lastSentAt = -Infinity;
  private waiting: { value: T } | null = null;
  private timer: unknown = null;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (value: T) => void,
    private readonly timers: ThrottleTimers = realTimers,
  ) {}

  offer(value: T): void {
    const dueIn = this.lastSentAt + this.intervalMs - this.timers.now();
    if (dueIn <= 0 && this.timer === null) {
      this.emit(value);
      return;
    }
    this.waiting = { value };
    this.timer ??= this.timers.setTimeout(() => this.release(), Math.max(0, dueIn));
  }

  /** Drops whatever waits; nothing is sent after this. */
  dispose(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.waiting = null;
  }

  private release(): void {
    this.timer = null;
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) this.emit(waiting.value);
  }

  private emit(value: T): void {
    this.lastSentAt = this.timers.now();
    this.send(value);
  }
}
