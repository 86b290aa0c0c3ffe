// The Anthropic path end to end: the engine speaks the Messages API to the mock's
// /v1/messages, which answers as the same analyst model, limits like Anthropic and fails
// like Anthropic.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sampleFeedback } from '../../daemon/demo/sampleFeedback';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import type { JobSpecInput } from '../../daemon/spec/jobSpec';
import { createFixture, type Fixture } from '../support/engineFixture';

const model = 'claude-sonnet-4-5';

function anthropicSpec(fixture: Fixture, overrides: Partial<JobSpecInput> = {}) {
  return fixture.spec({ model, provider: { api: 'anthropic', baseUrl: fixture.mock.url }, cache: false, ...overrides });
}

function assertEveryAnswerMatchesTheMock(fixture: Fixture, rows: number) {
  const finished = [...fixture.ledger().finished()];
  assert.equal(finished.length, rows, 'one ledger row per source row');
  for (const row of finished) {
    assert.equal(row.status, 'done', `record ${row.key}: ${row.error}`);
    const expected = analyseSentiment(sampleFeedback(Number(row.key)));
    assert.deepEqual(row.output, { sentiment: expected.sentiment, score: expected.score }, `record ${row.key}`);
  }
}

describe('engine: the Anthropic Messages API', () => {
  it('runs a few thousand records through /v1/messages, every answer the mock rule, priced as Claude', async () => {
    const fixture = await createFixture(3000, { latencyMs: 2 });
    try {
      const summary = await new JobRunner(anthropicSpec(fixture, { limits: { concurrency: 8 } }), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done', summary.statusReason ?? '');
      assert.equal(summary.records.done, 3000);
      assertEveryAnswerMatchesTheMock(fixture, 3000);
      const stats = fixture.mock.stats();
      assert.equal(stats.recordsAnswered, 3000);
      assert.equal(stats.requests.byStatus[200], stats.requests.total, 'every request was a valid Messages request');
      // Claude Sonnet 4.5 at $3 / $15 per million tokens, on the usage /v1/messages reported.
      const expectedCost = (stats.tokens.prompt * 3 + stats.tokens.completion * 15) / 1_000_000;
      assert.ok(Math.abs(summary.costUsd - expectedCost) < 1e-9, `cost ${summary.costUsd} vs ${expectedCost}`);
    } finally {
      await fixture.cleanup();
    }
  });

  it('answers a custom output schema from the schema in the system prompt', async () => {
    const fixture = await createFixture(300);
    try {
      const output = {
        type: 'object',
        properties: { label: { type: 'string', enum: ['positive', 'negative', 'neutral'] }, urgent: { type: 'boolean' } },
        required: ['label', 'urgent'],
        additionalProperties: false,
      };
      const summary = await new JobRunner(anthropicSpec(fixture, { output }), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.records.done, 300, summary.statusReason ?? '');
      for (const row of fixture.ledger().finished()) {
        assert.deepEqual(Object.keys(row.output ?? {}).sort(), ['label', 'urgent'], `record ${row.key}`);
      }
    } finally {
      await fixture.cleanup();
    }
  });

  it('follows the anthropic-ratelimit-* headers: an RPM and ITPM limit on a short window ends with ≤1% 429s', async () => {
    const windowMs = 2000;
    const fixture = await createFixture(8000, { rpm: 60, itpm: 12_000, windowMs, latencyMs: 5 });
    try {
      // No limits in the spec: the engine learns both from the headers of its first answers.
      const runner = new JobRunner(anthropicSpec(fixture, { batching: { recordsPerRequest: 10 }, limits: { concurrency: 16 } }), { stateDir: fixture.stateDir, rateWindowMs: windowMs });
      const run = runner.run();
      await new Promise((resolve) => setTimeout(resolve, windowMs * 4));
      runner.pause();
      await run;
      const stats = fixture.mock.stats();
      assert.ok(stats.requests.total > 60, `${stats.requests.total} requests`);
      assert.ok(stats.rateLimited <= stats.requests.total * 0.01, `${stats.rateLimited} 429s of ${stats.requests.total}`);
      assert.ok(stats.maxRequestsInWindow <= 60, `${stats.maxRequestsInWindow} requests in a window (limit 60)`);
      assert.ok(stats.maxTokensInWindow <= 12_000, `${stats.maxTokensInWindow} input tokens in a window (limit 12000)`);
      // Well under the ~92 % a quiet machine reaches: a 2 s window is short enough for a busy
      // test machine's stalls to show; what this guards against is an engine that crawls.
      assert.ok(stats.maxTokensInWindow >= 6_000 || stats.maxRequestsInWindow >= 30, `the limits were used: ${stats.maxTokensInWindow} tokens, ${stats.maxRequestsInWindow} requests`);
    } finally {
      await fixture.cleanup();
    }
  });

  it('rides out 529 overloaded at ~10% without spending any record attempt on them', async () => {
    const fixture = await createFixture(2000, { failOverloaded: 0.1, seed: 9, latencyMs: 2 });
    try {
      const summary = await new JobRunner(anthropicSpec(fixture, { limits: { concurrency: 8 } }), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done', summary.statusReason ?? '');
      assert.equal(summary.records.done, 2000);
      const stats = fixture.mock.stats();
      assert.ok(stats.faults.overloaded >= 5, `${stats.faults.overloaded} 529s injected`);
      assert.equal(stats.requests.byStatus[529], stats.faults.overloaded);
      const attempts = [...fixture.ledger().finished()].map((row) => row.attempts);
      assert.ok(attempts.every((count) => count === 1), `attempts per record: ${[...new Set(attempts)].join(', ')}`);
      assert.ok(fixture.ledger().errorsByClass().some((error) => error.errorClass === 'overloaded'));
      assertEveryAnswerMatchesTheMock(fixture, 2000);
    } finally {
      await fixture.cleanup();
    }
  });

  it('pauses on a wrong key with a clear message, and the key is nowhere in the ledger or the logs', async () => {
    const wrongKey = 'sk-ant-api03-wrong-Zq9xY7wV5uT3sR1pO';
    const fixture = await createFixture(200, { apiKey: 'sk-ant-api03-right' });
    try {
      const logs: string[] = [];
      const spec = fixture.spec({ model, provider: { api: 'anthropic', baseUrl: fixture.mock.url, apiKeyEnv: 'DROVER_TEST_CLAUDE_KEY' } });
      const summary = await new JobRunner(spec, {
        stateDir: fixture.stateDir,
        env: { DROVER_TEST_CLAUDE_KEY: wrongKey },
        listener: { log: (event) => logs.push(event.message), error: (event) => logs.push(event.message) },
      }).run();
      assert.equal(summary.status, 'paused');
      assert.match(summary.statusReason ?? '', /Anthropic rejected the API key \(401 authentication_error\): invalid x-api-key.*provider\.apiKeyEnv/);
      assert.equal(summary.records.failed, 0);
      const ledgerBytes = await readFile(join(fixture.stateDir, 'jobs', 'feedback', 'ledger.sqlite'));
      assert.equal(ledgerBytes.includes(wrongKey), false, 'the key is not in the ledger');
      assert.ok(logs.every((line) => !line.includes(wrongKey)), 'nor in the logs');
      const right = await new JobRunner(spec, { stateDir: fixture.stateDir, env: { DROVER_TEST_CLAUDE_KEY: 'sk-ant-api03-right' } }).run();
      assert.equal(right.status, 'done', 'the right key resumes it');
    } finally {
      await fixture.cleanup();
    }
  });

  it('splits a batch whose prompt is too long until each piece fits', async () => {
    const fixture = await createFixture(400, { context: 420 });
    try {
      const summary = await new JobRunner(anthropicSpec(fixture, { batching: { recordsPerRequest: 20 } }), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done', summary.statusReason ?? '');
      assert.equal(summary.records.done, 400);
      assert.ok((fixture.mock.stats().requests.byStatus[400] ?? 0) > 0, 'the mock refused the full batches');
      const tooLong = fixture.ledger().errorsByClass().find((error) => error.errorClass === 'context_length');
      assert.match(tooLong?.sampleMessage ?? '', /prompt is too long: \d+ tokens > 420 maximum|exceed context limit/);
      assertEveryAnswerMatchesTheMock(fixture, 400);
    } finally {
      await fixture.cleanup();
    }
  });
});
