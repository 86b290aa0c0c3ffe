// The limiter end to end, on a short window: the mock LLM here has no limit of its own but
// measures the busiest sliding window of what it received, so what is asserted is what
// the engine actually sent, not what a provider let through.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import type { MockLlmServer } from '../../daemon/mockLlm/server';
import { createFixture } from '../support/engineFixture';

const windowMs = 2000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The mock counts a request when it admits it, after counting its tokens; its first request
 * loads the tokenizer's tables, which would date that request late and stretch the first
 * window it measures. One request before the job, and stats from zero.
 */
async function warmUp(mock: MockLlmServer): Promise<void> {
  const response = await fetch(`${mock.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'warm up' }] }),
  });
  assert.equal(response.status, 200);
  mock.resetStats();
}

/** Runs the job for `ms`, then pauses it and waits until it has stopped. */
async function runFor(runner: JobRunner, ms: number): Promise<void> {
  const run = runner.run();
  await sleep(ms);
  runner.pause();
  await run;
}

describe('limiter, end to end on a short window', () => {
  it('never sends more than the RPM or TPM in any window, across window boundaries and across a pause and resume', async () => {
    // A longer window here: the limiter keeps 1% of each window in hand for requests that
    // reach the provider late (the first one, on a cold connection, takes ~65 ms), and 1% of
    // 2 s is only 20 ms.
    const longWindowMs = 10_000;
    const fixture = await createFixture(20_000, { windowMs: longWindowMs, latencyMs: 5 });
    try {
      await warmUp(fixture.mock);
      // Large requests allowed, so each run's opening burst (the bucket's capacity) is large.
      const spec = fixture.spec({
        cache: false,
        batching: { recordsPerRequest: 10, maxPromptTokens: 20_000 },
        limits: { concurrency: 4, rpm: 300, tpm: 125_000 },
      });
      await runFor(new JobRunner(spec, { stateDir: fixture.stateDir, rateWindowMs: longWindowMs }), longWindowMs * 0.4);
      // Resumed at once, inside the window the first run's burst opened.
      await runFor(new JobRunner(spec, { stateDir: fixture.stateDir, rateWindowMs: longWindowMs }), longWindowMs * 1.2);
      const stats = fixture.mock.stats();
      assert.ok(stats.requests.total > 150, `${stats.requests.total} requests sent`);
      assert.ok(stats.maxRequestsInWindow <= 300, `${stats.maxRequestsInWindow} requests in one window (limit 300)`);
      assert.ok(stats.maxTokensInWindow <= 125_000, `${stats.maxTokensInWindow} tokens in one window (limit 125000)`);
      assert.ok(stats.maxTokensInWindow >= 110_000, `${stats.maxTokensInWindow} tokens in the busiest window: the limit was used`);
    } finally {
      await fixture.cleanup();
    }
  });

  it('fails a record whose request can never fit the TPM, without sending it and without stalling the rest', async () => {
    const huge = 'terrible broken awful '.repeat(1500);
    const fixture = await createFixture(120, { windowMs, latencyMs: 5 });
    try {
      await warmUp(fixture.mock);
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(fixture.dbPath);
      db.prepare('UPDATE feedback SET text = ? WHERE id = 50').run(huge);
      db.close();
      const spec = fixture.spec({ cache: false, batching: { recordsPerRequest: 20 }, limits: { concurrency: 4, tpm: 4000 } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir, rateWindowMs: windowMs }).run();
      assert.equal(summary.status, 'done');
      assert.deepEqual(summary.records, { total: 120, done: 119, failed: 1 });
      const failed = [...fixture.ledger().finished({ status: 'failed' })];
      assert.equal(failed[0]?.key, '50');
      assert.equal(failed[0]?.errorClass, 'too_large_for_tpm');
      assert.match(failed[0]?.error ?? '', /can never fit the limit of 4000 tokens.*raise limits\.tpm/);
      assert.equal(fixture.mock.recordCounts()['50'], undefined, 'the oversized request was never sent');
      assert.ok(fixture.mock.stats().maxTokensInWindow <= 4000, `${fixture.mock.stats().maxTokensInWindow} tokens in one window`);
    } finally {
      await fixture.cleanup();
    }
  });

  it('two engines that share nothing each stay under their own limit', async () => {
    const first = await createFixture(8000, { windowMs, latencyMs: 5 });
    const second = await createFixture(8000, { windowMs, latencyMs: 5 });
    try {
      await Promise.all([warmUp(first.mock), warmUp(second.mock)]);
      const runners = [
        new JobRunner(first.spec({ cache: false, batching: { recordsPerRequest: 5 }, limits: { concurrency: 16, rpm: 30 } }), { stateDir: first.stateDir, rateWindowMs: windowMs }),
        new JobRunner(second.spec({ cache: false, batching: { recordsPerRequest: 5 }, limits: { concurrency: 16, rpm: 50 } }), { stateDir: second.stateDir, rateWindowMs: windowMs }),
      ];
      await Promise.all(runners.map((runner) => runFor(runner, windowMs * 3)));
      const [a, b] = [first.mock.stats(), second.mock.stats()];
      assert.ok(a.maxRequestsInWindow <= 30, `first: ${a.maxRequestsInWindow} in a window (limit 30)`);
      assert.ok(b.maxRequestsInWindow <= 50, `second: ${b.maxRequestsInWindow} in a window (limit 50)`);
      // Each used its own limit, not a share of a common one.
      assert.ok(a.maxRequestsInWindow >= 27, `first used ${a.maxRequestsInWindow} of 30`);
      assert.ok(b.maxRequestsInWindow >= 45, `second used ${b.maxRequestsInWindow} of 50`);
    } finally {
      await first.cleanup();
      await second.cleanup();
    }
  });
});
