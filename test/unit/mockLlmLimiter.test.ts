import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultInjector, type FaultKind, faultKinds, mulberry32 } from '../../daemon/mockLlm/faults';
import { mockLlmOptionsSchema } from '../../daemon/mockLlm/options';
import { openAiDuration, RateLimiter } from '../../daemon/mockLlm/rateLimiter';
import { SlidingWindow } from '../../daemon/mockLlm/slidingWindow';

interface Entry {
  time: number;
  tokens: number;
}

/** Brute force: what was admitted in the window ending at `now`. */
function inWindow(entries: readonly Entry[], now: number, windowMs: number) {
  const live = entries.filter((entry) => entry.time > now - windowMs && entry.time <= now);
  return { requests: live.length, tokens: live.reduce((sum, entry) => sum + entry.tokens, 0) };
}

describe('mock LLM sliding window', () => {
  it('agrees with a brute-force count, across compactions', () => {
    const random = mulberry32(7);
    const windowMs = 500;
    const window = new SlidingWindow(windowMs);
    const entries: Entry[] = [];
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      now += Math.floor(random() * 3);
      window.expire(now);
      const tokens = 1 + Math.floor(random() * 50);
      window.add(now, tokens);
      entries.push({ time: now, tokens });
      if (step % 97 === 0) {
        const expected = inWindow(entries, now, windowMs);
        assert.equal(window.requests, expected.requests, `requests at ${now}`);
        assert.equal(window.tokens, expected.tokens, `tokens at ${now}`);
        const target = Math.floor(expected.tokens * random());
        const wait = window.msUntilTokensAtMost(now, target);
        assert.ok(inWindow(entries, now + wait, windowMs).tokens <= target, 'enough tokens have drained by then');
        if (wait > 0) assert.ok(inWindow(entries, now + wait - 1, windowMs).tokens > target, 'and not a ms earlier');
        const count = Math.floor(expected.requests * random());
        const requestWait = window.msUntilRequestsAtMost(now, count);
        assert.ok(inWindow(entries, now + requestWait, windowMs).requests <= count);
        if (requestWait > 0) assert.ok(inWindow(entries, now + requestWait - 1, windowMs).requests > count);
      }
    }
  });
});

describe('mock LLM rate limiter', () => {
  it('never admits more than the RPM and TPM in any window, and its waits are exact', () => {
    const windowMs = 1000;
    const rpm = 25;
    const tpm = 2000;
    let now = 0;
    const limiter = new RateLimiter({ rpm, tpm, windowMs }, () => now);
    const random = mulberry32(42);
    const admitted: Entry[] = [];
    let rejected = 0;
    for (let step = 0; step < 5000; step++) {
      now += Math.floor(random() * 20);
      const tokens = 10 + Math.floor(random() * 150);
      const error = limiter.admit('gpt-4.1', tokens);
      if (!error) {
        admitted.push({ time: now, tokens });
        const window = inWindow(admitted, now, windowMs);
        assert.ok(window.requests <= rpm, `${window.requests} requests in the window ending at ${now}`);
        assert.ok(window.tokens <= tpm, `${window.tokens} tokens in the window ending at ${now}`);
        continue;
      }
      rejected++;
      assert.equal(error.status, 429);
      assert.equal(error.code, 'rate_limit_exceeded');
      const waitMs = Number(error.headers['retry-after-ms']);
      assert.equal(Number(error.headers['retry-after']), Math.ceil(waitMs / 1000));
      // Would the same request fit one ms earlier, or exactly then? (Checked without admitting it.)
      const fits = (at: number) => {
        const window = inWindow(admitted, at, windowMs);
        return window.requests + 1 <= rpm && window.tokens + tokens <= tpm;
      };
      assert.ok(fits(now + waitMs), 'admissible after retry-after-ms');
      assert.ok(!fits(now + waitMs - 1), 'not admissible a ms earlier');
      assert.match(error.message, new RegExp(`on ${error.type} per min .*Please try again in ${openAiDuration(waitMs)}\\.`));
    }
    assert.ok(rejected > 100 && admitted.length > 100, `a real mix: ${admitted.length} admitted, ${rejected} rejected`);
  });

  it('admits a retry exactly at retry-after-ms, and refuses a request larger than the TPM outright', () => {
    let now = 1000;
    const limiter = new RateLimiter({ rpm: 2, windowMs: 60_000 }, () => now);
    assert.equal(limiter.admit('m', 1), undefined);
    now += 250;
    assert.equal(limiter.admit('m', 1), undefined);
    const error = limiter.admit('m', 1);
    assert.equal(error?.type, 'requests');
    assert.equal(error?.headers['retry-after-ms'], String(60_000 - 250));
    assert.equal(error?.headers['retry-after'], '60');
    now += 60_000 - 250 - 1;
    assert.ok(limiter.admit('m', 1), 'still limited a ms early');
    now += 1;
    assert.equal(limiter.admit('m', 1), undefined);

    const tokens = new RateLimiter({ tpm: 100, windowMs: 60_000 }, () => now);
    const tooLarge = tokens.admit('m', 101);
    assert.equal(tooLarge?.status, 429);
    assert.equal(tooLarge?.type, 'tokens');
    assert.match(tooLarge?.message ?? '', /^Request too large for m .*Limit 100, Requested 101/);
    assert.equal(tooLarge?.headers['retry-after-ms'], undefined, 'no retry can succeed');
  });

  it('reports limits, remaining and the time until the window drains', () => {
    let now = 0;
    const limiter = new RateLimiter({ rpm: 10, tpm: 1000, windowMs: 60_000 }, () => now);
    limiter.admit('m', 300);
    now = 30_000;
    limiter.admit('m', 200);
    now = 45_000;
    assert.deepEqual(limiter.headers(), {
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '8',
      'x-ratelimit-reset-requests': openAiDuration(30_000 + 60_000 - 45_000),
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '500',
      'x-ratelimit-reset-tokens': openAiDuration(45_000),
    });
    now = 90_000;
    assert.equal(limiter.headers()['x-ratelimit-remaining-tokens'], '1000');
    assert.equal(limiter.headers()['x-ratelimit-reset-requests'], '0s');
  });

  it("formats durations as OpenAI does", () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [20, '20ms'],
      [999, '999ms'],
      [1000, '1s'],
      [1500, '1.5s'],
      [1234, '1.234s'],
      [90_000, '1m30s'],
      [360_000, '6m0s'],
      [3_723_000, '1h2m3s'],
      [19.2, '20ms'],
    ];
    for (const [ms, text] of cases) assert.equal(openAiDuration(ms), text, `${ms} ms`);
  });
});

describe('mock LLM fault draws', () => {
  it('picks each fault at its own rate from one draw per request', () => {
    const options = mockLlmOptionsSchema.parse({
      seed: 3,
      fail500: 0.05,
      fail503: 0.1,
      failReset: 0.05,
      failHang: 0.02,
      failBadJson: 0.08,
      failDrop: 0.1,
      failTruncate: 0.1,
    });
    const injector = new FaultInjector(options);
    const draws = 100_000;
    const counts = new Map<FaultKind | undefined, number>();
    for (let index = 0; index < draws; index++) {
      const { fault, jitter, position } = injector.draw();
      assert.ok(jitter >= -1 && jitter < 1 && position >= 0 && position < 1);
      counts.set(fault, (counts.get(fault) ?? 0) + 1);
    }
    const expected: Record<FaultKind, number> = {
      http500: 0.05,
      http503: 0.1,
      reset: 0.05,
      hang: 0.02,
      badJson: 0.08,
      drop: 0.1,
      truncate: 0.1,
      overloaded: 0,
    };
    for (const kind of faultKinds) {
      const rate = (counts.get(kind) ?? 0) / draws;
      assert.ok(Math.abs(rate - expected[kind]) < 0.006, `${kind}: ${rate} vs ${expected[kind]}`);
    }
    assert.ok(Math.abs((counts.get(undefined) ?? 0) / draws - 0.5) < 0.01);
  });

  it('repeats the same sequence for the same seed, and another for another seed', () => {
    const sequence = (seed: number) => {
      const injector = new FaultInjector(mockLlmOptionsSchema.parse({ seed, fail500: 0.3, failDrop: 0.3 }));
      return Array.from({ length: 200 }, () => injector.draw());
    };
    assert.deepEqual(sequence(11), sequence(11));
    assert.notDeepEqual(sequence(11), sequence(12));
  });

  it('refuses probabilities that add up to more than 1', () => {
    assert.throws(() => mockLlmOptionsSchema.parse({ fail500: 0.6, failHang: 0.5 }), /add up to at most 1/);
  });
});
