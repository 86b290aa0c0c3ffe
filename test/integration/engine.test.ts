import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sampleFeedback } from '../../daemon/demo/sampleFeedback';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { createFixture, type Fixture } from '../support/engineFixture';

async function withFixture(rows: number, mock: Parameters<typeof createFixture>[1], body: (fixture: Fixture) => Promise<void>) {
  const fixture = await createFixture(rows, mock);
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup();
  }
}

function assertEveryAnswerMatchesTheMock(fixture: Fixture, rows: number) {
  const ledger = fixture.ledger();
  const finished = [...ledger.finished()];
  assert.equal(finished.length, rows, 'one ledger row per source row');
  for (const row of finished) {
    assert.equal(row.status, 'done', `record ${row.key}: ${row.error}`);
    const expected = analyseSentiment(sampleFeedback(Number(row.key)));
    assert.deepEqual(row.output, { sentiment: expected.sentiment, score: expected.score }, `record ${row.key}`);
  }
}

describe('engine against the mock LLM over HTTP', () => {
  it('answers every record by id, each exactly once, and writes the sink', async () => {
    await withFixture(3000, { latencyMs: 5 }, async (fixture) => {
      const sinkPath = join(fixture.dir, 'out', 'results.jsonl');
      // Without the content cache, so that every record must reach the model exactly once.
      const spec = fixture.spec({ cache: false, sink: { type: 'jsonl', path: sinkPath } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done');
      assert.deepEqual(summary.records, { total: 3000, done: 3000, failed: 0 });
      assertEveryAnswerMatchesTheMock(fixture, 3000);
      const counts = fixture.mock.recordCounts();
      assert.equal(Object.keys(counts).length, 3000);
      assert.ok(Object.values(counts).every((count) => count === 1), 'no record was sent twice');
      const lines = (await readFile(sinkPath, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { key: string });
      assert.equal(lines.length, 3000);
      assert.equal(new Set(lines.map((line) => line.key)).size, 3000);
      const stats = fixture.mock.stats();
      assert.equal(summary.tokens.prompt, stats.tokens.prompt, 'prompt tokens come from usage');
      assert.ok(summary.costUsd > 0);
    });
  });

  it('ends with every record done and correct under 500s, dropped items, bad JSON and resets', async () => {
    await withFixture(4000, { fail500: 0.05, failDrop: 0.02, failBadJson: 0.01, failReset: 0.01, seed: 42 }, async (fixture) => {
      const summary = await new JobRunner(fixture.spec(), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done');
      assert.equal(summary.records.done, 4000);
      assert.ok(summary.retries > 0, 'faults were injected and retried');
      assertEveryAnswerMatchesTheMock(fixture, 4000);
      const faults = fixture.mock.stats().faults;
      assert.ok(faults.http500 > 0 && faults.drop > 0 && faults.reset > 0, JSON.stringify(faults));
      for (const row of fixture.ledger().finished()) assert.ok(row.attempts <= 6, `record ${row.key} attempts ${row.attempts}`);
    });
  });

  it('re-run after editing a few rows calls only for those rows (content cache)', async () => {
    await withFixture(500, {}, async (fixture) => {
      await new JobRunner(fixture.spec(), { stateDir: fixture.stateDir }).run();
      fixture.mock.resetStats();
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(fixture.dbPath);
      db.prepare("UPDATE feedback SET text = 'Absolutely terrible, broken and awful. Case ' || id WHERE id IN (7, 99, 250)").run();
      db.close();
      const summary = await new JobRunner(fixture.spec(), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done');
      assert.deepEqual(Object.keys(fixture.mock.recordCounts()).sort(), ['250', '7', '99']);
      const edited = [...fixture.ledger().finished()].find((row) => row.key === '99');
      assert.equal(edited?.output?.sentiment, 'negative');
    });
  });

  it('splits a request the model cannot fit and still packs within the prompt budget', async () => {
    // The mock refuses any request whose prompt + max_tokens passes its context, so a
    // single 400 would show that packing overshot.
    await withFixture(600, { context: 1600 }, async (fixture) => {
      const spec = fixture.spec({ batching: { recordsPerRequest: 50, maxPromptTokens: 900, maxOutputTokens: 700 } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(summary.records.done, 600);
      assert.equal(fixture.mock.stats().requests.byStatus['400'], undefined, 'no request exceeded the context');
      const tight = fixture.spec({ name: 'tight', batching: { recordsPerRequest: 50, maxPromptTokens: 1500, maxOutputTokens: 700 } });
      const split = await new JobRunner(tight, { stateDir: fixture.stateDir }).run();
      assert.equal(split.records.done, 600);
      assert.ok((fixture.mock.stats().requests.byStatus['400'] ?? 0) > 0, 'the tight job did overflow and was split');
      assert.ok(fixture.ledger('tight').errorsByClass().some((error) => error.errorClass === 'context_length'));
    });
  });

  it('pauses at once on a wrong API key, keeps what is done, and says what to do', async () => {
    await withFixture(200, { apiKey: 'sk-right' }, async (fixture) => {
      const progress: JobProgress[] = [];
      const summary = await new JobRunner(fixture.spec(), {
        stateDir: fixture.stateDir,
        env: { OPENAI_API_KEY: 'sk-wrong' },
        listener: { progress: (p) => progress.push(p) },
      }).run();
      assert.equal(summary.status, 'paused');
      assert.match(summary.statusReason ?? '', /401.*API key/s);
      assert.equal(progress.at(-1)?.pauseClass, 'auth');
      assert.ok(fixture.mock.stats().requests.total <= 32, 'no retries after a 401: at most one round of requests');
      const resumed = await new JobRunner(fixture.spec(), { stateDir: fixture.stateDir, env: { OPENAI_API_KEY: 'sk-right' } }).run();
      assert.equal(resumed.status, 'done');
      assert.equal(resumed.records.done, 200);
    });
  });

  it('pauses on insufficient_quota and on an unknown model without burning retries', async () => {
    await withFixture(400, { quotaAfter: 5 }, async (fixture) => {
      const spec = fixture.spec({ limits: { concurrency: 1 } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'paused');
      assert.match(summary.statusReason ?? '', /quota/);
      assert.equal(summary.records.done, 100, '5 requests of 20 records were answered and kept');
      assert.equal(fixture.mock.stats().requests.total, 6);
      const unknown = await new JobRunner(fixture.spec({ name: 'unknown', model: 'gpt-9-imaginary' }), { stateDir: fixture.stateDir }).run();
      assert.equal(unknown.status, 'paused');
      assert.match(unknown.statusReason ?? '', /does not know this model/);
    });
  });

  it('never passes the budget: pauses before the request that could cross it', async () => {
    await withFixture(2000, {}, async (fixture) => {
      const spec = fixture.spec({ limits: { concurrency: 8, budgetUsd: 0.01 } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'paused');
      assert.match(summary.statusReason ?? '', /budget/);
      assert.ok(summary.costUsd <= 0.01, `spent ${summary.costUsd}`);
      assert.ok(summary.records.done > 0 && summary.records.done < 2000);
    });
  });

  it('stays within the provider limit on a short window and uses at least 95% of it', async () => {
    const windowMs = 2000;
    await withFixture(6000, { rpm: 40, windowMs, latencyMs: 5 }, async (fixture) => {
      const spec = fixture.spec({ batching: { recordsPerRequest: 5 }, limits: { concurrency: 16, rpm: 40 } });
      const runner = new JobRunner(spec, { stateDir: fixture.stateDir, rateWindowMs: windowMs });
      const run = runner.run();
      await new Promise((resolve) => setTimeout(resolve, windowMs * 4));
      runner.pause();
      await run;
      const stats = fixture.mock.stats();
      assert.ok(stats.maxRequestsInWindow <= 40, `max in a window ${stats.maxRequestsInWindow}`);
      assert.ok(stats.maxRequestsInWindow >= 38, `used ${stats.maxRequestsInWindow} of 40`);
      assert.ok(stats.rateLimited <= stats.requests.total * 0.01, `${stats.rateLimited} 429s`);
    });
  });

  it('stays within a token limit too, reconciling each reservation with the usage', async () => {
    const windowMs = 2000;
    await withFixture(6000, { tpm: 20_000, windowMs, latencyMs: 5 }, async (fixture) => {
      const spec = fixture.spec({ cache: false, limits: { concurrency: 16, tpm: 20_000 } });
      const runner = new JobRunner(spec, { stateDir: fixture.stateDir, rateWindowMs: windowMs });
      const run = runner.run();
      await new Promise((resolve) => setTimeout(resolve, windowMs * 4));
      runner.pause();
      await run;
      const stats = fixture.mock.stats();
      assert.ok(stats.maxTokensInWindow <= 20_000, `max tokens in a window ${stats.maxTokensInWindow}`);
      assert.ok(stats.maxTokensInWindow >= 19_000, `used ${stats.maxTokensInWindow} of 20000`);
      assert.ok(stats.rateLimited <= stats.requests.total * 0.01, `${stats.rateLimited} 429s of ${stats.requests.total}`);
    });
  });
});
