import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDurationMs, readRateLimitHeaders, readRetryAfterMs } from '../../daemon/provider/rateLimitHeaders';

const headers = (values: Record<string, string>) => (name: string) => values[name];

describe('provider rate-limit headers', () => {
  it("reads OpenAI's durations", () => {
    assert.equal(parseDurationMs('1s'), 1000);
    assert.equal(parseDurationMs('6m0s'), 360_000);
    assert.equal(parseDurationMs('20ms'), 20);
    assert.equal(parseDurationMs('1.5s'), 1500);
    assert.equal(parseDurationMs('1h2m3s'), 3_723_000);
    assert.equal(parseDurationMs('2'), 2000);
  });

  it('ignores empty, negative and nonsense values instead of producing NaN', () => {
    for (const bad of ['', '   ', '-1', 'abc', '1x', 's', '1s2', undefined]) {
      assert.equal(parseDurationMs(bad), undefined, String(bad));
    }
    const snapshot = readRateLimitHeaders(
      headers({ 'x-ratelimit-remaining-requests': '-1', 'x-ratelimit-remaining-tokens': 'abc', 'x-ratelimit-limit-tokens': '', 'x-ratelimit-reset-tokens': '-1' }),
    );
    assert.deepEqual(Object.values(snapshot).filter((value) => value !== undefined), []);
  });

  it('prefers retry-after-ms, then retry-after in seconds or as an HTTP date', () => {
    assert.equal(readRetryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
    assert.equal(readRetryAfterMs(headers({ 'retry-after': '3' })), 3000);
    const now = Date.parse('2026-11-28T10:00:00Z');
    assert.equal(readRetryAfterMs(headers({ 'retry-after': 'Sat, 28 Nov 2026 10:00:05 GMT' }), now), 5000);
    assert.equal(readRetryAfterMs(headers({ 'retry-after': 'Sat, 28 Nov 2026 09:00:00 GMT' }), now), 0);
    assert.equal(readRetryAfterMs(headers({ 'retry-after': 'soon' })), undefined);
    assert.equal(readRetryAfterMs(headers({ 'retry-after-ms': '-5' })), undefined);
  });
});
