import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../daemon/mockLlm/faults';
import { type MockLlmServer, startMockLlm } from '../../daemon/mockLlm/server';

interface Admission {
  time: number;
  tokens: number;
}

/** The most requests and tokens admitted in any window: every window worth checking ends at an admission. */
function busiestWindow(admissions: readonly Admission[], windowMs: number) {
  let requests = 0;
  let tokens = 0;
  for (const end of admissions) {
    const live = admissions.filter((other) => other.time > end.time - windowMs && other.time <= end.time);
    requests = Math.max(requests, live.length);
    tokens = Math.max(tokens, live.reduce((sum, other) => sum + other.tokens, 0));
  }
  return { requests, tokens };
}

async function chat(mock: MockLlmServer, content: string, maxTokens?: number) {
  const response = await fetch(`${mock.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content }], max_tokens: maxTokens }),
  });
  const body = (await response.json()) as {
    usage?: { prompt_tokens: number };
    error?: { type: string; code: string; message: string };
  };
  return { status: response.status, headers: response.headers, body };
}

describe('mock LLM rate limits over HTTP', () => {
  it('never admits more than the RPM or TPM in any window of a driven clock; retry-after-ms is exact; /stats counts what it admitted', async () => {
    const windowMs = 1000;
    const rpm = 12;
    const tpm = 1100;
    let now = 0;
    const mock = await startMockLlm({ rpm, tpm, windowMs, now: () => now });
    try {
      const random = mulberry32(5);
      const admissions: Admission[] = [];
      let limitedBy = { requests: 0, tokens: 0 };
      let retriesChecked = 0;
      for (let step = 0; step < 600; step++) {
        now += Math.floor(random() * 60);
        const maxTokens = 20 + Math.floor(random() * 80);
        const words = 'great slow fine '.repeat(1 + Math.floor(random() * 20));
        const answer = await chat(mock, words, maxTokens);
        if (answer.status === 200) {
          admissions.push({ time: now, tokens: answer.body.usage!.prompt_tokens + maxTokens });
          const remaining = Number(answer.headers.get('x-ratelimit-remaining-requests'));
          const live = admissions.filter((admission) => admission.time > now - windowMs);
          assert.equal(remaining, rpm - live.length, 'remaining requests counts this one');
          continue;
        }
        assert.equal(answer.status, 429);
        assert.equal(answer.body.error?.code, 'rate_limit_exceeded');
        const type = answer.body.error.type as 'requests' | 'tokens';
        limitedBy = { ...limitedBy, [type]: limitedBy[type] + 1 };
        const waitMs = Number(answer.headers.get('retry-after-ms'));
        assert.ok(waitMs > 0 && waitMs <= windowMs);
        assert.equal(answer.headers.get('retry-after'), String(Math.ceil(waitMs / 1000)));
        assert.equal(answer.headers.get('x-ratelimit-limit-requests'), String(rpm));
        assert.equal(answer.headers.get('x-ratelimit-limit-tokens'), String(tpm));
        assert.match(answer.headers.get('x-ratelimit-reset-requests') ?? '', /^(\d+ms|\d+(\.\d+)?s)$/);
        if (retriesChecked < 40) {
          retriesChecked++;
          // The same request a ms early is still refused (a refusal changes nothing), then admitted exactly on time.
          const started = now;
          now = started + waitMs - 1;
          assert.equal((await chat(mock, words, maxTokens)).status, 429, 'a ms before retry-after-ms');
          now = started + waitMs;
          const retry = await chat(mock, words, maxTokens);
          assert.equal(retry.status, 200, 'exactly at retry-after-ms');
          admissions.push({ time: now, tokens: retry.body.usage!.prompt_tokens + maxTokens });
        }
      }
      assert.ok(limitedBy.requests > 0 && limitedBy.tokens > 0, `both limits were hit: ${JSON.stringify(limitedBy)}`);
      const busiest = busiestWindow(admissions, windowMs);
      assert.ok(busiest.requests <= rpm, `${busiest.requests} requests in one window`);
      assert.ok(busiest.tokens <= tpm, `${busiest.tokens} tokens in one window`);
      const stats = mock.stats();
      assert.equal(stats.maxRequestsInWindow, busiest.requests);
      assert.equal(stats.maxTokensInWindow, busiest.tokens);
      assert.equal(stats.rateLimited, stats.requests.byStatus[429]);
      assert.equal(stats.requests.byStatus[200], admissions.length);
      // The cumulative counters count what the limiter let through, never the refusals.
      assert.deepEqual(stats.admitted, {
        requests: admissions.length,
        tokens: admissions.reduce((sum, admission) => sum + admission.tokens, 0),
      });
      await fetch(`${mock.url.replace(/\/v1$/, '')}/stats/reset`, { method: 'POST' });
      assert.deepEqual(mock.stats().admitted, { requests: 0, tokens: 0 });
    } finally {
      await mock.close();
    }
  });

  it('holds a concurrent burst to the RPM on the real clock, and a retry after retry-after-ms gets in', async () => {
    const windowMs = 1000;
    const rpm = 20;
    const mock = await startMockLlm({ rpm, windowMs });
    try {
      const started = performance.now();
      const deadline = started + 2500;
      let admitted = 0;
      let lastWaitMs = 0;
      const worker = async () => {
        while (performance.now() < deadline) {
          const answer = await chat(mock, 'hello');
          if (answer.status === 200) admitted++;
          else lastWaitMs = Number(answer.headers.get('retry-after-ms'));
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      const elapsedWindows = Math.ceil((performance.now() - started) / windowMs);
      const stats = mock.stats();
      assert.equal(stats.maxRequestsInWindow, rpm, 'saturated, never above');
      assert.ok(admitted <= rpm * elapsedWindows, `${admitted} admitted in ${elapsedWindows} windows`);
      assert.ok(stats.rateLimited > 0);
      assert.ok(lastWaitMs > 0);

      // Now alone: ask, be refused, wait exactly as told, ask again.
      let refusal = await chat(mock, 'hello');
      while (refusal.status === 200) refusal = await chat(mock, 'hello');
      await delay(Number(refusal.headers.get('retry-after-ms')));
      assert.equal((await chat(mock, 'hello')).status, 200);
    } finally {
      await mock.close();
    }
  });
});
