import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sampleFeedback } from '../../daemon/demo/sampleFeedback';
import { batchDiscount, priceFor } from '../../daemon/cost/prices';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import type { JobLogEvent, JobProgress } from '../../daemon/protocol/jobProgress';
import { jobSummarySchema } from '../../daemon/protocol/jobProgress';
import { runCli, startCli, waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';

async function withFixture(rows: number, mock: Parameters<typeof createFixture>[1], body: (fixture: Fixture) => Promise<void>) {
  const fixture = await createFixture(rows, mock);
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup();
  }
}

/** Every source row done once, with the mock analyst's answer, and sent to the model exactly once. */
function assertJoinedExactlyOnce(fixture: Fixture, rows: number) {
  const finished = [...fixture.ledger().finished()];
  assert.equal(finished.length, rows, 'one ledger row per source row');
  for (const row of finished) {
    assert.equal(row.status, 'done', `record ${row.key}: ${row.error}`);
    const expected = analyseSentiment(sampleFeedback(Number(row.key)));
    assert.deepEqual(row.output, { sentiment: expected.sentiment, score: expected.score }, `record ${row.key}`);
  }
  const counts = fixture.mock.recordCounts();
  assert.equal(Object.keys(counts).length, rows, 'every record reached the model');
  const twice = Object.entries(counts).filter(([, count]) => count !== 1);
  assert.deepEqual(twice.slice(0, 5), [], 'no record was answered twice');
}

/** Submissions in the job's ledger: [provider batch id, status]. */
function ledgerBatches(fixture: Fixture): { id: string | null; status: string }[] {
  let db: Database.Database;
  try {
    db = new Database(join(fixture.stateDir, 'jobs', 'feedback', 'ledger.sqlite'), { readonly: true, fileMustExist: true });
  } catch {
    return [];
  }
  try {
    return db.prepare('SELECT provider_batch_id AS id, status FROM batch_submissions ORDER BY id').all() as { id: string | null; status: string }[];
  } catch {
    return []; // the tables are not there yet
  } finally {
    db.close();
  }
}

const fastBatches = { pollIntervalMs: 40, maxSubmissions: 5 };

describe('batch mode against the mock Batch API', () => {
  it('runs 120,000 records over several files, re-submits failed lines, joins every answer once at the batch price', async () => {
    await withFixture(120_000, { batchDelayMs: 300, batchFailLine: 0.03, seed: 9 }, async (fixture) => {
      const progress: JobProgress[] = [];
      const spec = fixture.spec({ cache: false, mode: 'batch', batch: { maxRequestsPerFile: 2000, ...fastBatches } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir, listener: { progress: (event) => progress.push(event) } }).run();
      assert.equal(summary.status, 'done', summary.statusReason ?? '');
      assert.deepEqual(summary.records, { total: 120_000, done: 120_000, failed: 0 });
      assertJoinedExactlyOnce(fixture, 120_000);

      const stats = fixture.mock.stats();
      // 120,000 records, 20 a line, 2,000 lines a file: 3 files, then the failed lines again.
      assert.ok(stats.batches.linesFailed > 0, 'some lines failed in their batch');
      assert.ok(stats.batches.created >= 4, `batches created: ${stats.batches.created}`);
      assert.equal(stats.batches.linesAnswered, 6000, 'each line answered once, re-submissions included');
      assert.equal(summary.requests, 6000);
      assert.ok(summary.retries > 0);
      const batches = ledgerBatches(fixture);
      assert.equal(batches.length, stats.batches.created, 'the ledger holds every batch the provider made');
      assert.ok(batches.every((batch) => batch.status === 'joined'));

      // Cost at the batch price: half of gpt-4.1-mini's online price, on the provider's usage.
      assert.equal(summary.tokens.prompt, stats.tokens.prompt);
      assert.equal(summary.tokens.completion, stats.tokens.completion);
      const online = priceFor('gpt-4.1-mini');
      assert.ok(online);
      const expected = ((stats.tokens.prompt * online.inputPerMTok + stats.tokens.completion * online.outputPerMTok) / 1e6) * batchDiscount.factor;
      assert.ok(Math.abs(summary.costUsd - expected) < 1e-6, `cost ${summary.costUsd} vs batch price ${expected}`);

      const states = progress.flatMap((event) => (event.batch ? [event.batch.state] : []));
      assert.ok(states.some((state) => /^batch \d+\/\d+ (validating|in_progress|finalizing), [\d,]+\/[\d,]+ done/.test(state)), states.slice(0, 5).join(' | '));
    });
  });

  it('re-submits the lines of an expired batch', async () => {
    await withFixture(2000, { batchDelayMs: 150, batchExpireFirst: 1, seed: 4 }, async (fixture) => {
      const spec = fixture.spec({ cache: false, mode: 'batch', batch: { maxRequestsPerFile: 25, ...fastBatches } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done', summary.statusReason ?? '');
      assert.deepEqual(summary.records, { total: 2000, done: 2000, failed: 0 });
      assertJoinedExactlyOnce(fixture, 2000);
      const stats = fixture.mock.stats();
      assert.equal(stats.batches.expired, 1);
      // 4 files of 25 lines, then the expired batch's unanswered half again.
      assert.equal(stats.batches.created, 5);
      assert.equal(stats.batches.linesAnswered, 100);
    });
  });

  it('sends records whose lines keep failing through the online path after maxSubmissions', async () => {
    await withFixture(1000, { batchDelayMs: 60, batchFailLine: 0.5, seed: 5 }, async (fixture) => {
      const logs: JobLogEvent[] = [];
      const spec = fixture.spec({ cache: false, mode: 'batch', batch: { maxRequestsPerFile: 10, pollIntervalMs: 30, maxSubmissions: 1 } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir, listener: { log: (event) => logs.push(event) } }).run();
      assert.equal(summary.status, 'done', summary.statusReason ?? '');
      assert.deepEqual(summary.records, { total: 1000, done: 1000, failed: 0 });
      assertJoinedExactlyOnce(fixture, 1000);
      const stats = fixture.mock.stats();
      assert.ok(stats.batches.linesFailed > 0);
      assert.equal(stats.batches.created, 5, 'one submission each: nothing was sent in a second batch');
      const inBatches = stats.batches.linesAnswered * 20;
      assert.ok(inBatches < 1000 && stats.recordsAnswered === 1000, `batches answered ${inBatches}, all answers ${stats.recordsAnswered}`);
      assert.ok(logs.some((event) => /went through the online path/.test(event.message)));
    });
  });

  it('after SIGKILL of drover run, resumes polling the same batches and creates none again', async () => {
    await withFixture(5000, { batchDelayMs: 4000, seed: 6 }, async (fixture) => {
      const specPath = await fixture.writeSpecFile({ mode: 'batch', batch: { maxRequestsPerFile: 50, pollIntervalMs: 50 } });
      const args = ['run', specPath, '--json', '--state-dir', fixture.stateDir];
      const first = startCli(args);
      // 5,000 records, 20 a line, 50 lines a file: 5 batches, all saved in the ledger.
      await waitFor(() => ledgerBatches(fixture).filter((batch) => batch.id !== null).length === 5, 30_000, 'five batches saved in the ledger');
      first.child.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');
      const before = ledgerBatches(fixture).map((batch) => batch.id);
      const statsBefore = fixture.mock.stats().batches;
      assert.equal(statsBefore.created, 5);
      assert.equal(fixture.doneKeys().size, 0, 'killed while the batches were in progress');

      const second = await runCli(args);
      assert.equal(second.code, 0, second.stderr);
      const summary = jobSummarySchema.parse(JSON.parse(second.stdout.trim().split('\n').at(-1) as string));
      assert.deepEqual(summary.records, { total: 5000, done: 5000, failed: 0 });
      const statsAfter = fixture.mock.stats().batches;
      assert.equal(statsAfter.created, 5, 'no batch was created again');
      assert.equal(statsAfter.filesUploaded, 5, 'no file was uploaded again');
      assert.deepEqual(ledgerBatches(fixture).map((batch) => batch.id), before, 'the same batch ids were polled and joined');
      assertJoinedExactlyOnce(fixture, 5000);
      const lines = (await readFile(join(fixture.dir, 'out', 'results.jsonl'), 'utf8')).trim().split('\n');
      assert.equal(lines.length, 5000);
    });
  });

  it('pauses before a file would pass the budget, and a resume with a larger budget finishes', async () => {
    await withFixture(2000, { batchDelayMs: 100, seed: 8 }, async (fixture) => {
      const batch = { maxRequestsPerFile: 10, ...fastBatches };
      const tight = await new JobRunner(fixture.spec({ cache: false, mode: 'batch', batch, limits: { budgetUsd: 0.02 } }), { stateDir: fixture.stateDir }).run();
      assert.equal(tight.status, 'paused');
      assert.match(tight.statusReason ?? '', /budget/);
      const created = fixture.mock.stats().batches.created;
      assert.ok(created > 0 && created < 10, `batches created under the budget: ${created}`);
      const resumed = await new JobRunner(fixture.spec({ cache: false, mode: 'batch', batch, limits: { budgetUsd: 10 } }), { stateDir: fixture.stateDir }).run();
      assert.equal(resumed.status, 'done', resumed.statusReason ?? '');
      assertJoinedExactlyOnce(fixture, 2000);
      assert.equal(fixture.mock.stats().batches.created, 10, 'the batches made before the pause were joined, not made again');
    });
  });

  it('cancel cancels the batches at the provider; a re-run joins what they answered and sends the rest', async () => {
    await withFixture(1000, { batchDelayMs: 3000, seed: 7 }, async (fixture) => {
      const spec = fixture.spec({ cache: false, mode: 'batch', batch: { maxRequestsPerFile: 10, pollIntervalMs: 30 } });
      const runner = new JobRunner(spec, { stateDir: fixture.stateDir });
      const running = runner.run();
      await waitFor(() => ledgerBatches(fixture).filter((batch) => batch.id !== null).length === 5, 30_000, 'five batches created');
      runner.cancel();
      const summary = await running;
      assert.equal(summary.status, 'cancelled');
      await waitFor(() => fixture.mock.stats().batches.cancelled === 5, 10_000, 'the provider cancelled the five batches');

      const rerun = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(rerun.status, 'done', rerun.statusReason ?? '');
      assert.equal(rerun.records.done, 1000);
      assertJoinedExactlyOnce(fixture, 1000);
    });
  });
});
