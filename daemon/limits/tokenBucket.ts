// A continuous token bucket sized so that no window of `windowMs` ever admits more than
// the limit: in any window a bucket admits at most capacity + rate × window, so the rate is
// what is left of the limit after the burst capacity and a small safety margin (requests
// reach the provider a few milliseconds after we admit them). A fixed-window counter
// instead admits up to twice the limit across a window boundary.

export const safetyMargin = 0.01;

export class TokenBucket {
  readonly capacity: number;
  /** Units per millisecond. */
  readonly rate: number;
  private level: number;
  private updatedAt: number;

  constructor(
    readonly limit: number,
    largestCost: number,
    readonly windowMs: number,
    now: number,
    initialLevel?: number,
  ) {
    this.capacity = Math.min(limit, Math.max(1, limit * 0.02, largestCost));
    this.rate = Math.max(0, limit * (1 - safetyMargin) - this.capacity) / windowMs;
    this.level = Math.min(this.capacity, initialLevel ?? this.capacity);
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.level = Math.min(this.capacity, this.level + (now - this.updatedAt) * this.rate);
      this.updatedAt = now;
    }
  }

  available(now: number): number {
    this.refill(now);
    return this.level;
  }

  /** A cost above the capacity is admitted from a full bucket (and leaves it in debt). */
  canTake(cost: number, now: number): boolean {
    return this.available(now) >= Math.min(cost, this.capacity);
  }

  take(cost: number, now: number): void {
    this.refill(now);
    this.level -= cost;
  }

  /** Milliseconds until `canTake(cost)`; Infinity if it never will (rate 0). */
  waitMs(cost: number, now: number): number {
    const missing = Math.min(cost, this.capacity) - this.available(now);
    if (missing <= 0) return 0;
    return this.rate > 0 ? Math.ceil(missing / this.rate) : Number.POSITIVE_INFINITY;
  }

  /** Returns units (an over-reservation) or takes more (an under-estimate, never forgiven). */
  adjust(delta: number, now: number): void {
    this.refill(now);
    this.level = Math.min(this.capacity, this.level + delta);
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
