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

/** Admits `costs` in order on a driven clock; returns [time, cost] of each admission. */
async function admitAll(admission: Admission, clock: ManualClock, costs: number[], stepMs: number, totalMs: number) {
  const admitted: [number, number][] = [];
  for (const cost of costs) void admission.acquire(cost).then(() => admitted.push([clock.time, cost]));
  for (let t = 0; t < totalMs; t += stepMs) {
    clock.advance(stepMs);
    await Promise.resolve();
  }
  await new Promise((resolve) => setImmediate(resolve));
  return admitted;
}

function maxCostInAnyWindow(admitted: [number, number][], windowMs: number): number {
  let best = 0;
  for (const [start] of admitted) {
    best = Math.max(best, admitted.filter(([time]) => time >= start && time < start + windowMs).reduce((sum, [, cost]) => sum + cost, 0));
    best = Math.max(best, admitted.filter(([time]) => time > start - windowMs && time <= start).reduce((sum, [, cost]) => sum + cost, 0));
  }
  return best;
}

describe('admission: the edges of the token bucket', () => {
  it('never stalls when the largest request is as large as the TPM (the refill rate stays above zero)', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ tpm: 1000, largestRequestTokens: 1000, windowMs: 60_000, clock });
    const admitted = await admitAll(admission, clock, [900, 900, 900], 100, 400_000);
    assert.equal(admitted.length, 3, 'every request was admitted in the end');
    assert.ok(maxCostInAnyWindow(admitted, 60_000) <= 1000, `max ${maxCostInAnyWindow(admitted, 60_000)} in a window`);
  });

  it('keeps the window bound on both sides of a request larger than the bucket capacity', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ tpm: 1000, largestRequestTokens: 900, windowMs: 60_000, clock });
    const costs = [...Array<number>(20).fill(50), 900, ...Array<number>(20).fill(50), 800, ...Array<number>(20).fill(50)];
    const admitted = await admitAll(admission, clock, costs, 100, 900_000);
    assert.equal(admitted.length, costs.length);
    assert.ok(maxCostInAnyWindow(admitted, 60_000) <= 1000, `max ${maxCostInAnyWindow(admitted, 60_000)} in a window`);
  });

  it('a run that resumes within a window starts with what refilled since the last request, not a full bucket', async () => {
    const full = new Admission({ tpm: 100_000, largestRequestTokens: 5000, windowMs: 60_000, clock: new ManualClock() });
    const resumedAtOnce = new Admission({ tpm: 100_000, largestRequestTokens: 5000, windowMs: 60_000, clock: new ManualClock(), quietMs: 0 });
    const resumedLater = new Admission({ tpm: 100_000, largestRequestTokens: 5000, windowMs: 60_000, clock: new ManualClock(), quietMs: 1000 });
    const longAgo = new Admission({ tpm: 100_000, largestRequestTokens: 5000, windowMs: 60_000, clock: new ManualClock(), quietMs: 3_600_000 });
    assert.equal(full.headroom().tokens?.available, 5000);
    assert.equal(resumedAtOnce.headroom().tokens?.available, 0);
    // rate = (99 000 − 5000) / 60 000 per ms
    assert.equal(resumedLater.headroom().tokens?.available, Math.floor((94_000 / 60_000) * 1000));
    assert.equal(longAgo.headroom().tokens?.available, 5000);
  });

  it('charges an under-estimate larger than what the bucket holds as a debt that delays the next request', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ tpm: 60_000, largestRequestTokens: 1000, windowMs: 60_000, clock });
    const ticket = await admission.acquire(1000);
    admission.settle(ticket, 6000);
    let admittedAt: number | null = null;
    void admission.acquire(1000).then(() => (admittedAt = clock.time));
    // The bucket (capacity 1000, the largest request) kept nothing; charged 5000 more it is
    // 5000 in debt, and the next request needs 1000: 6000 at (59 400 − 1000) / 60 000 per ms.
    const expected = Math.ceil(6000 / (58_400 / 60_000));
    for (let t = 0; t < expected + 1000 && admittedAt === null; t += 10) {
      clock.advance(10);
      await Promise.resolve();
    }
    assert.ok(admittedAt !== null && admittedAt >= expected - 10 && admittedAt <= expected + 10, `admitted at ${admittedAt}, expected about ${expected}`);
  });
});

describe('admission: separate input and output token limits (Anthropic ITPM / OTPM)', () => {
  it('learns both from headers and charges the prompt to one, the output allowance to the other', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ largestRequestTokens: 1000, windowMs: 60_000, clock });
    const first = await admission.acquire(900, undefined, { input: 800, output: 100 });
    admission.observe(first, { limitInputTokens: 40_000, remainingInputTokens: 39_200, limitOutputTokens: 8000, remainingOutputTokens: 8000 });
    admission.settle(first, 900, { input: 800, output: 40 });
    // The output bucket (capacity 1000 here) is what holds a request with a large output allowance back.
    let admitted = false;
    void admission.acquire(1100, undefined, { input: 100, output: 1000 }).then(() => (admitted = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(admitted, true, 'both buckets had room');
    let second = false;
    void admission.acquire(1100, undefined, { input: 100, output: 1000 }).then(() => (second = true));
    clock.advance(1000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second, false, 'the output bucket is empty: ~1000 output tokens refill in ~7.7 s at 8000 per minute');
    clock.advance(8000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second, true);
  });

  it('refuses a prompt that can never fit the input limit', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ largestRequestTokens: 1000, windowMs: 60_000, clock });
    const ticket = await admission.acquire(10, undefined, { input: 10, output: 0 });
    admission.observe(ticket, { limitInputTokens: 500 });
    await assert.rejects(admission.acquire(700, undefined, { input: 600, output: 100 }), (error: unknown) => error instanceof RequestTooLargeError && /600 tokens.*500 input tokens per minute/.test(error.message));
  });

  it('a 529 pause holds everything for its time but leaves the buckets as they were', async () => {
    const clock = new ManualClock();
    const admission = new Admission({ rpm: 600, largestRequestTokens: 1, windowMs: 60_000, clock });
    const before = admission.headroom().requests?.available;
    admission.pauseFor(1000);
    assert.equal(admission.headroom().requests?.available, before, 'nothing drained');
    assert.ok(admission.headroom().holdMs >= 1000);
    let admitted = false;
    void admission.acquire(1).then(() => (admitted = true));
    clock.advance(900);
    await Promise.resolve();
    assert.equal(admitted, false);
    clock.advance(200);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(admitted, true);
  });
});
