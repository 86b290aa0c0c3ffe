// A continuous token bucket sized so that no window of `windowMs` ever admits more than
// the limit: in any window a bucket admits at most capacity + rate × window, so the rate is
// what is left of the limit after the burst capacity and a small safety margin (requests
// reach the provider a few milliseconds after we admit them). A fixed-window counter
// instead admits up to twice the limit across a window boundary.
//
// The capacity is at most half the limit, so the rate is never zero: a capacity of the
// whole limit (a spec whose largest request is as large as its TPM) would leave no refill
// and stall the job for ever. A request larger than the capacity keeps the bound by
// paying on both sides: it waits until the bucket holds all of it (the bucket may fill past
// its capacity while that request is first in line), and it leaves the bucket in debt by
// its excess, so the windows before and after it each stay within capacity + rate × window.

export const safetyMargin = 0.01;

export class TokenBucket {
  readonly capacity: number;
  /** Units per millisecond. */
  readonly rate: number;
  private level: number;
  private updatedAt: number;
  /** How far the level may refill: the capacity, or the cost of a larger request first in line. */
  private ceiling: number;

  constructor(
    readonly limit: number,
    largestCost: number,
    readonly windowMs: number,
    now: number,
    initialLevel?: number,
  ) {
    // The capacity is all burst and no steady rate: the smaller it is, the more of the limit a
    // long run uses (share = 99 % − capacity ÷ limit). It holds the largest request, and at
    // least 0.5 % of the limit so a job's first requests need not trickle out one by one.
    this.capacity = Math.min(limit / 2, Math.max(1, limit * 0.005, largestCost));
    this.rate = (limit * (1 - safetyMargin) - this.capacity) / windowMs;
    this.ceiling = this.capacity;
    this.level = Math.min(this.capacity, initialLevel ?? this.capacity);
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.level = Math.min(this.ceiling, this.level + (now - this.updatedAt) * this.rate);
      this.updatedAt = now;
    }
  }

  available(now: number): number {
    this.refill(now);
    return this.level;
  }

  take(cost: number, now: number): void {
    this.refill(now);
    this.level -= cost + Math.max(0, cost - this.capacity);
    this.ceiling = this.capacity;
  }

  /** Milliseconds until a request of `cost`, first in line, may be taken. */
  waitMs(cost: number, now: number): number {
    this.ceiling = Math.max(this.capacity, cost);
    const missing = cost - this.available(now);
    return missing <= 0 ? 0 : Math.ceil(missing / this.rate);
  }

  /** Nothing waits any more: a larger request that was first in line gave up. */
  idle(now: number): void {
    this.refill(now);
    this.ceiling = this.capacity;
    this.level = Math.min(this.level, this.capacity);
  }

  /** Returns units (an over-reservation) or takes more (an under-estimate, never forgiven). */
  adjust(delta: number, now: number): void {
    this.refill(now);
    this.level = Math.min(this.ceiling, this.level + delta);
  }

  /** The provider knows better: never hold more than it says remains. */
  clampTo(maximum: number, now: number): void {
    this.refill(now);
    if (maximum < this.level) this.level = maximum;
  }

  drain(now: number): void {
    this.refill(now);
    this.level = Math.min(this.level, 0);
  }
}
