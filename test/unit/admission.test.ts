import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission, RequestTooLargeError } from '../../daemon/limits/admission';
import type { Clock } from '../../daemon/limits/clock';

/** A clock the test moves by hand; scheduled callbacks run when their time comes. */
class ManualClock implements Clock {
  time = 0;
  private timers: { at: number; callback: () => void; cancelled: boolean }[] = [];
  now = () => this.time;
  schedule = (callback: () => void, ms: number) => {
    const timer = { at: this.time + ms, callback, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  };
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => !timer.cancelled && timer.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.time = Math.max(this.time, due.at);
      due.cancelled = true;
      due.callback();
    }
    this.time = end;
  }
}

async function admittedTimes(admission: Admission, clock: ManualClock, requests: number, tokens: number, stepMs: number, totalMs: number) {
  const times: number[] = [];
  for (let i = 0; i < requests; i += 1) void admission.acquire(tokens).then(() => times.push(clock.time));
  for (let t = 0; t < totalMs; t += stepMs) {
    clock.advance(stepMs);
    await Promise.resolve();
  }
  await new Promise((resolve) => setImmediate(resolve));
  return times;
}

function maxInAnyWindow(times: number[], windowMs: number, weight = 1): number {
  let best = 0;
  for (const start of times) best = Math.max(best, times.filter((time) => time >= start && time < start + windowMs).length * weight);
  return best;
}

describe('admission (token buckets)', () => {
  it('a burst across window boundaries never admits more than the limit in any window, and uses ≥ 95% of it', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ rpm: 600, largestRequestTokens: 1, windowMs: 60_000, clock });
    const times = await admittedTimes(admission, clock, 5000, 1, 50, 300_000);
    assert.ok(maxInAnyWindow(times, 60_000) <= 600, `max ${maxInAnyWindow(times, 60_000)}`);
    const lastFourMinutes = times.filter((time) => time >= 60_000).length;
    assert.ok(lastFourMinutes >= 0.95 * 600 * 4, `admitted ${lastFourMinutes} in 4 windows`);
  });

  it('a request too large for the token limit is refused without consuming anything', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ tpm: 1000, largestRequestTokens: 500, windowMs: 60_000, clock });
    await assert.rejects(admission.acquire(1001), RequestTooLargeError);
    const before = admission.headroom().tokens?.available;
    await admission.acquire(400);
    assert.equal(admission.headroom().tokens?.available, (before ?? 0) - 400);
  });

  it('refunds an over-reservation and charges an under-estimate', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ tpm: 100_000, largestRequestTokens: 3000, windowMs: 60_000, clock });
    const start = admission.headroom().tokens?.available ?? 0;
    const ticket = await admission.acquire(2000);
    admission.settle(ticket, 1500);
    assert.equal(admission.headroom().tokens?.available, start - 1500, 'refunded 500');
    const second = await admission.acquire(1000);
    admission.settle(second, 1300);
    assert.equal(admission.headroom().tokens?.available, start - 1500 - 1300, 'charged 300 more');
  });

  it('holds everything after a 429 until the provider says so', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ rpm: 6000, largestRequestTokens: 1, windowMs: 60_000, clock });
    admission.holdFor(1500);
    let admitted = false;
    void admission.acquire(1).then(() => (admitted = true));
    clock.advance(1400);
    await Promise.resolve();
    assert.equal(admitted, false);
    clock.advance(200);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(admitted, true);
  });

  it('learns limits from headers when the spec has none, and trusts a lower remaining', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ largestRequestTokens: 100, windowMs: 60_000, clock });
    const ticket = await admission.acquire(50);
    assert.equal(admission.headroom().requests, null);
    admission.observe(ticket, { limitRequests: 100, remainingRequests: 10, limitTokens: 10_000, remainingTokens: 500 });
    assert.equal(admission.headroom().requests?.limit, 100);
    assert.ok((admission.headroom().tokens?.available ?? Infinity) <= 500);
  });

  it('works from the spec alone when the provider sends no headers', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ rpm: 60, largestRequestTokens: 1, windowMs: 60_000, clock });
    const ticket = await admission.acquire(1);
    admission.observe(ticket, {});
    assert.equal(admission.headroom().requests?.limit, 60);
  });
});
