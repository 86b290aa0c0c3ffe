// The requests and tokens admitted in the last `windowMs`: a deque of admission times with
// running token totals. Entries leave from the head as they age out (amortised O(1)); the
// prefix sums let "how long until N tokens have drained" be a binary search, not a scan.

const compactAfter = 4096;

export class SlidingWindow {
  private times: number[] = [];
  /** cumulativeTokens[i]: tokens of every entry up to and including i, since the start. */
  private cumulativeTokens: number[] = [];
  private head = 0;
  private expiredTokens = 0;
  private totalTokens = 0;

  constructor(readonly windowMs: number) {}

  /** Drops the entries admitted `windowMs` or more before `now`. */
  expire(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.head < this.times.length && this.times[this.head] <= cutoff) {
      this.expiredTokens = this.cumulativeTokens[this.head]!;
      this.head++;
    }
    if (this.head >= compactAfter && this.head * 2 >= this.times.length) {
      this.times = this.times.slice(this.head);
      this.cumulativeTokens = this.cumulativeTokens.slice(this.head);
      this.head = 0;
    }
  }

  add(now: number, tokens: number): void {
    this.totalTokens += tokens;
    this.times.push(now);
    this.cumulativeTokens.push(this.totalTokens);
  }

  get requests(): number {
    return this.times.length - this.head;
  }

  get tokens(): number {
    return this.totalTokens - this.expiredTokens;
  }

  /** Milliseconds until at most `count` requests remain (0 if they already do). */
  msUntilRequestsAtMost(now: number, count: number): number {
    const excess = this.requests - Math.max(0, count);
    if (excess <= 0) return 0;
    return this.times[this.head + excess - 1] + this.windowMs - now;
  }

  /** Milliseconds until at most `tokens` tokens remain (0 if they already do). */
  msUntilTokensAtMost(now: number, tokens: number): number {
    if (this.tokens <= tokens) return 0;
    // The first entry whose expiry leaves no more than `tokens` behind it.
    const mustExpireThrough = this.totalTokens - Math.max(0, tokens);
    let low = this.head;
    let high = this.times.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.cumulativeTokens[middle] >= mustExpireThrough) high = middle;
      else low = middle + 1;
    }
    return this.times[low] + this.windowMs - now;
  }

  /** Milliseconds until the window is empty. */
  msUntilEmpty(now: number): number {
    return this.requests === 0 ? 0 : this.times.at(-1)! + this.windowMs - now;
  }
}
