import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatestThrottle, type ThrottleTimers } from '../../daemon/server/latestThrottle';

/** A clock the test moves by hand, with timers that fire as it passes them. */
class ManualTimers implements ThrottleTimers {
  private time = 0;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 1;

  now = () => this.time;

  setTimeout = (callback: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  };

  clearTimeout = (handle: unknown) => {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  };

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = due.at;
      due.callback();
    }
    this.time = end;
  }
}

describe('LatestThrottle', () => {
  it('sends at most one value per interval however fast values come, and always the latest', () => {
    const timers = new ManualTimers();
    const sent: { value: number; at: number }[] = [];
    const throttle = new LatestThrottle<number>(100, (value) => sent.push({ value, at: timers.now() }), timers);
    // 1000 values a second for 3 seconds.
    for (let value = 1; value <= 3000; value += 1) {
      throttle.offer(value);
      timers.advance(1);
    }
    timers.advance(500);
    for (let i = 1; i < sent.length; i += 1) assert.ok(sent[i].at - sent[i - 1].at >= 100, `sends ${i - 1} and ${i} are ${sent[i].at - sent[i - 1].at} ms apart`);
    assert.ok(sent.length >= 29 && sent.length <= 31, `${sent.length} sends in 3 s`);
    assert.equal(sent.at(-1)?.value, 3000, 'the last value offered is delivered');
    const values = sent.map((entry) => entry.value);
    assert.deepEqual(values, [...values].sort((a, b) => a - b), 'in order, never an older value after a newer one');
  });

  it('sends a value at once when the interval has passed', () => {
    const timers = new ManualTimers();
    const sent: number[] = [];
    const throttle = new LatestThrottle<number>(100, (value) => sent.push(value), timers);
    throttle.offer(1);
    timers.advance(150);
    throttle.offer(2);
    assert.deepEqual(sent, [1, 2]);
  });

  it('sends nothing after dispose', () => {
    const timers = new ManualTimers();
    const sent: number[] = [];
    const throttle = new LatestThrottle<number>(100, (value) => sent.push(value), timers);
    throttle.offer(1);
    throttle.offer(2);
    throttle.dispose();
    timers.advance(1000);
    assert.deepEqual(sent, [1]);
  });
});
