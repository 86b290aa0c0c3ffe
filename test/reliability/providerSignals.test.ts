// What the provider says about its limits, and how long the engine then waits: each 429 is
// answered by a scripted node:http provider, and the time until the engine's next request
// is measured. Invalid hints must be ignored (never a crash, never a NaN or endless wait).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { runCli, waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';
import { startScriptedProvider, type ScriptedProvider } from './scriptedProvider';

async function withOneRecordJob(body: (fixture: Fixture) => Promise<void>): Promise<void> {
  const fixture = await createFixture(1);
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup();
  }
}

/** The first call is answered 429 with `headers`, every later one properly. */
function firstCallLimited(headers: Record<string, string>) {
  return startScriptedProvider((call, response, provider) => {
    if (call.index === 0) provider.error(response, 429, { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' }, headers);
    else provider.answer(call, response);
  });
}

async function waitAfter429(fixture: Fixture, provider: ScriptedProvider): Promise<number> {
  const spec = fixture.spec({ provider: { baseUrl: provider.url }, limits: { concurrency: 1 }, retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 } });
  const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
  assert.equal(summary.status, 'done');
  assert.deepEqual(summary.records, { total: 1, done: 1, failed: 0 });
  assert.equal(provider.calls.length, 2, 'one 429, then one answered retry');
  const [record] = [...fixture.ledger().finished()];
  assert.equal(record?.attempts, 1, 'a 429 does not use up an attempt');
  return (provider.calls[1]?.at ?? 0) - (provider.calls[0]?.at ?? 0);
}

describe('provider signals: rate-limit headers and retry hints', () => {
  for (const [value, expectedMs] of [['1s', 1000], ['20ms', 20]] as const) {
    it(`x-ratelimit-reset "${value}" on a 429 holds the next request for ${expectedMs} ms`, async () => {
      await withOneRecordJob(async (fixture) => {
        const provider = await firstCallLimited({ 'x-ratelimit-reset-requests': value, 'x-ratelimit-reset-tokens': value });
        try {
          const waited = await waitAfter429(fixture, provider);
          assert.ok(waited >= expectedMs - 5, `retried after ${waited} ms, before the ${expectedMs} ms the header asked for`);
          assert.ok(waited < expectedMs + 1500, `retried only after ${waited} ms`);
        } finally {
          await provider.close();
        }
      });
    });
  }

  for (const value of ['', '-1', 'abc']) {
    it(`x-ratelimit-reset ${JSON.stringify(value)} is ignored: the job retries after its own short backoff and finishes`, async () => {
      await withOneRecordJob(async (fixture) => {
        const provider = await firstCallLimited({
          'x-ratelimit-reset-requests': value,
          'x-ratelimit-reset-tokens': value,
          'x-ratelimit-remaining-requests': value,
          'x-ratelimit-limit-requests': value,
        });
        try {
          const waited = await waitAfter429(fixture, provider);
          // The backoff is at most retry.baseDelayMs (50 ms) here; a NaN or misread hint would be far off.
          assert.ok(waited < 1000, `retried only after ${waited} ms`);
        } finally {
          await provider.close();
        }
      });
    });
  }

  it('x-ratelimit-reset "6m0s" holds admission for six minutes, and a pause during the hold is immediate', async () => {
    await withOneRecordJob(async (fixture) => {
      const provider = await firstCallLimited({ 'x-ratelimit-reset-requests': '6m0s', 'x-ratelimit-reset-tokens': '6m0s' });
      try {
        const progress: JobProgress[] = [];
        const spec = fixture.spec({ provider: { baseUrl: provider.url }, limits: { concurrency: 1 } });
        const runner = new JobRunner(spec, { stateDir: fixture.stateDir, listener: { progress: (event) => progress.push(event) } });
        const run = runner.run();
        await waitFor(() => (progress.at(-1)?.headroom.holdMs ?? 0) > 0, 10_000, 'the hold to show in the progress');
        const hold = progress.at(-1)?.headroom.holdMs ?? 0;
        assert.ok(hold > 350_000 && hold <= 360_000, `holding for ${hold} ms`);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal(provider.calls.length, 1, 'nothing sent during the hold');
        const pausedAt = Date.now();
        runner.pause();
        const summary = await run;
        assert.ok(Date.now() - pausedAt < 2000, `the pause took ${Date.now() - pausedAt} ms`);
        assert.equal(summary.status, 'paused');
        assert.deepEqual(summary.records, { total: 1, done: 0, failed: 0 });
      } finally {
        await provider.close();
      }
    });
  });

  const inTwoSeconds = () => new Date(Date.now() + 2000).toUTCString();
  for (const [name, headers, atLeastMs] of [
    ['retry-after in seconds', () => ({ 'retry-after': '1' }), () => 1000],
    ['retry-after as an HTTP date', () => ({ 'retry-after': inTwoSeconds() }), (sentAt: number, headers: Record<string, string>) => Date.parse(headers['retry-after'] ?? '') - sentAt],
    ['retry-after-ms (preferred over retry-after)', () => ({ 'retry-after-ms': '300', 'retry-after': '30' }), () => 300],
  ] as const) {
    it(`${name} holds the next request that long`, async () => {
      await withOneRecordJob(async (fixture) => {
        let sent: Record<string, string> = {};
        let sentAt = 0;
        const provider = await startScriptedProvider((call, response, scripted) => {
          if (call.index > 0) return scripted.answer(call, response);
          sent = headers();
          sentAt = Date.now();
          scripted.error(response, 429, { message: 'Rate limit reached', code: 'rate_limit_exceeded' }, sent);
        });
        try {
          const waited = await waitAfter429(fixture, provider);
          const expected = atLeastMs(sentAt, sent);
          assert.ok(expected > 0, `the hint asks for ${expected} ms`);
          assert.ok(waited >= expected - 5, `retried after ${waited} ms, before the ${expected} ms asked for`);
          assert.ok(waited < expected + 1500, `retried only after ${waited} ms (asked: ${expected})`);
        } finally {
          await provider.close();
        }
      });
    });
  }

  it('insufficient_quota is never retried: one request, the job pauses (exit 3) and keeps every record unfinished', async () => {
    await withOneRecordJob(async (fixture) => {
      const provider = await startScriptedProvider((_call, response, scripted) =>
        scripted.error(response, 429, { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' }, { 'retry-after': '1' }),
      );
      try {
        const specPath = join(fixture.dir, 'quota.drover.json');
        await writeFile(specPath, JSON.stringify({
          name: 'feedback',
          source: { type: 'sqlite', path: fixture.dbPath, table: 'feedback', key: 'id' },
          prompt: { template: '{{text}}' },
          provider: { baseUrl: provider.url },
          limits: { concurrency: 1 },
          retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 50 },
        }));
        const result = await runCli(['run', specPath, '--json', '--state-dir', fixture.stateDir]);
        assert.equal(result.code, 3, result.stderr);
        assert.match(result.stdout, /no quota left/);
        assert.equal(provider.calls.length, 1, 'the quota error was not retried');
        const ledger = fixture.ledger();
        assert.equal(ledger.job()?.status, 'paused');
        assert.deepEqual(ledger.counts(), { done: 0, failed: 0, pending: 1 });
        assert.equal(ledger.lookup('1')?.attempts, 0, 'the refused request cost the record no attempt');
      } finally {
        await provider.close();
      }
    });
  });

  it('without any rate-limit headers the limiter works from the spec alone and stays under the limit', async () => {
    const windowMs = 2000;
    const fixture = await createFixture(4000, { rpm: 30, tpm: 30_000, windowMs, rateLimitHeaders: false, latencyMs: 5 });
    try {
      const spec = fixture.spec({ cache: false, batching: { recordsPerRequest: 5 }, limits: { concurrency: 16, rpm: 30, tpm: 30_000 } });
      const runner = new JobRunner(spec, { stateDir: fixture.stateDir, rateWindowMs: windowMs });
      const run = runner.run();
      await new Promise((resolve) => setTimeout(resolve, windowMs * 3));
      runner.pause();
      await run;
      const stats = fixture.mock.stats();
      assert.ok(stats.requests.total > 30, `${stats.requests.total} requests`);
      assert.ok(stats.maxRequestsInWindow <= 30, `max requests in a window ${stats.maxRequestsInWindow}`);
      assert.ok(stats.maxTokensInWindow <= 30_000, `max tokens in a window ${stats.maxTokensInWindow}`);
      assert.equal(stats.rateLimited, 0, 'no 429 at all');
    } finally {
      await fixture.cleanup();
    }
  });
});
