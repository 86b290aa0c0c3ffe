// Rates over the last few seconds (records/s, tokens/s), cheap enough to update per response.
export class RateMeter {
  private readonly buckets: number[];
  private readonly times: number[];
  private index = 0;

  constructor(
    private readonly bucketMs = 1000,
    private readonly bucketCount = 10,
  ) {
    this.buckets = new Array<number>(bucketCount).fill(0);
    this.times = new Array<number>(bucketCount).fill(0);
  }

  add(amount: number, now: number): void {
    const slot = Math.floor(now / this.bucketMs);
    if (this.times[this.index] !== slot) {
      this.index = (this.index + 1) % this.bucketCount;
      this.times[this.index] = slot;
      this.buckets[this.index] = 0;
    }
    this.buckets[this.index] = (this.buckets[this.index] ?? 0) + amount;
  }

  /** Per second, over the buckets still inside the window. */
  perSecond(now: number, startedAt: number): number {
    const slot = Math.floor(now / this.bucketMs);
    let sum = 0;
    for (let i = 0; i < this.bucketCount; i += 1) {
      if (slot - (this.times[i] ?? 0) < this.bucketCount) sum += this.buckets[i] ?? 0;
    }
    const windowMs = Math.min(this.bucketCount * this.bucketMs, Math.max(now - startedAt, this.bucketMs));
    return (sum * 1000) / windowMs;
  }
}
