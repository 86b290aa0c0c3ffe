// Batch mode on Anthropic's Message Batches, against the mock's /v1/messages/batches: the
// same runner as OpenAI's Batch API, through AnthropicBatchApi.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AnthropicBatchApi } from '../../daemon/batch/anthropicBatchApi';
import { batchDiscount, priceFor } from '../../daemon/cost/prices';
import { sampleFeedback } from '../../daemon/demo/sampleFeedback';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import { startMockLlm } from '../../daemon/mockLlm/server';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import type { ChatRequestBody } from '../../daemon/pipeline/requestBuilder';
import { MessageBatchesClient, type MessageBatch } from '../../daemon/provider/anthropic/messageBatches';
import { jobSummarySchema } from '../../daemon/protocol/jobProgress';
import { runCli, startCli, waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';

const model = 'claude-sonnet-4-5';

async function withFixture(rows: number, mock: Parameters<typeof createFixture>[1], body: (fixture: Fixture) => Promise<void>) {
  const fixture = await createFixture(rows, mock);
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup();
  }
}

/** Every batch the mock holds, through the list endpoint (newest first). */
async function mockBatches(baseUrl: string): Promise<MessageBatch[]> {
  const client = new MessageBatchesClient({ baseUrl, headers: {}, apiKey: undefined });
  const all: MessageBatch[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await client.list(afterId, 7);
    all.push(...page.data);
    if (!page.has_more || page.last_id === null) return all;
    afterId = page.last_id;
  }
}

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

/** Every source row done once, with the mock analyst's answer, answered by the model exactly once. */
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

describe('batch mode on Anthropic Message Batches', () => {
  it('runs 3,000 records over many batches, sends errored and expired lines again, joins every answer once at the batch price', async () => {
    await withFixture(3000, { batchProcessingMs: 120, batchExpire: 0.06, batchFailLine: 0.06, seed: 11 }, async (fixture) => {
      const spec = fixture.spec({ model, provider: { api: 'anthropic', baseUrl: fixture.mock.url }, cache: false, mode: 'batch', batch: { maxRequestsPerFile: 15, pollIntervalMs: 40, maxSubmissions: 5 } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done', summary.statusReason ?? '');
      assert.deepEqual(summary.records, { total: 3000, done: 3000, failed: 0 });
      assertJoinedExactlyOnce(fixture, 3000);

      // 3,000 records, 20 a line, 15 lines a batch: 10 batches, then the lines that did not succeed.
      const batches = await mockBatches(fixture.mock.url);
      const total = (key: 'succeeded' | 'errored' | 'expired') => batches.reduce((sum, batch) => sum + batch.request_counts[key], 0);
      assert.ok(total('errored') > 0 && total('expired') > 0, `errored ${total('errored')}, expired ${total('expired')}`);
      assert.equal(total('succeeded'), 150, 'each line succeeded once, re-submissions included');
      assert.ok(batches.length > 10, `batches created: ${batches.length}`);
      const ledger = ledgerBatches(fixture);
      assert.deepEqual(ledger.map((batch) => batch.id).sort(), batches.map((batch) => batch.id).sort(), 'the ledger holds every batch the provider made');
      assert.ok(ledger.every((batch) => batch.status === 'joined'));
      assert.deepEqual(await readdir(join(fixture.stateDir, 'jobs', 'feedback', 'batch-input')), [], 'no kept request file is left');

      // Cost at the batch price: half of the model's online price, on the provider's usage.
      const stats = fixture.mock.stats();
      assert.equal(summary.tokens.prompt, stats.tokens.prompt);
      assert.equal(summary.tokens.completion, stats.tokens.completion);
      const online = priceFor(model);
      assert.ok(online);
      const expected = ((stats.tokens.prompt * online.inputPerMTok + stats.tokens.completion * online.outputPerMTok) / 1e6) * batchDiscount.factor;
      assert.ok(Math.abs(summary.costUsd - expected) < 1e-6, `cost ${summary.costUsd} vs batch price ${expected}`);
    });
  });

  it('after SIGKILL of drover run, polls the same message batches and creates none again', async () => {
    await withFixture(5000, { batchProcessingMs: 4000, seed: 12 }, async (fixture) => {
      const specPath = await fixture.writeSpecFile({ model, provider: { api: 'anthropic', baseUrl: fixture.mock.url }, mode: 'batch', batch: { maxRequestsPerFile: 50, pollIntervalMs: 50 } });
      const args = ['run', specPath, '--json', '--state-dir', fixture.stateDir];
      const first = startCli(args);
      // 5,000 records, 20 a line, 50 lines a batch: 5 batches, all saved in the ledger.
      await waitFor(() => ledgerBatches(fixture).filter((batch) => batch.id !== null).length === 5, 30_000, 'five batches saved in the ledger');
      first.child.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');
      const before = ledgerBatches(fixture).map((batch) => batch.id);
      const created = await mockBatches(fixture.mock.url);
      assert.equal(created.length, 5);
      assert.ok(created.every((batch) => batch.processing_status === 'in_progress'), 'killed while the batches were in progress');
      assert.equal(fixture.doneKeys().size, 0);

      const second = await runCli(args);
      assert.equal(second.code, 0, second.stderr);
      const summary = jobSummarySchema.parse(JSON.parse(second.stdout.trim().split('\n').at(-1) as string));
      assert.deepEqual(summary.records, { total: 5000, done: 5000, failed: 0 });
      assert.deepEqual((await mockBatches(fixture.mock.url)).map((batch) => batch.id).sort(), created.map((batch) => batch.id).sort(), 'no batch was created again');
      assert.deepEqual(ledgerBatches(fixture).map((batch) => batch.id), before, 'the same batch ids were polled and joined');
      assertJoinedExactlyOnce(fixture, 5000);
    });
  });

  it('cancel cancels the message batches; a re-run joins what they answered and sends the canceled rest', async () => {
    await withFixture(1000, { batchProcessingMs: 3000, seed: 14 }, async (fixture) => {
      const spec = fixture.spec({ model, provider: { api: 'anthropic', baseUrl: fixture.mock.url }, cache: false, mode: 'batch', batch: { maxRequestsPerFile: 10, pollIntervalMs: 30 } });
      const runner = new JobRunner(spec, { stateDir: fixture.stateDir });
      const running = runner.run();
      await waitFor(() => ledgerBatches(fixture).filter((batch) => batch.id !== null).length === 5, 30_000, 'five batches created');
      runner.cancel();
      assert.equal((await running).status, 'cancelled');
      const cancelled = await mockBatches(fixture.mock.url);
      assert.equal(cancelled.length, 5);
      assert.ok(cancelled.every((batch) => batch.cancel_initiated_at !== null), 'every batch was cancelled at the provider');

      const rerun = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(rerun.status, 'done', rerun.statusReason ?? '');
      assert.deepEqual(rerun.records, { total: 1000, done: 1000, failed: 0 });
      const batches = await mockBatches(fixture.mock.url);
      assert.ok(batches.slice(batches.length - 5).reduce((sum, batch) => sum + batch.request_counts.canceled, 0) > 0, 'the cancel left lines unanswered');
      assert.equal(batches.reduce((sum, batch) => sum + batch.request_counts.succeeded, 0), 50, 'each line answered once: the canceled ones in a later batch');
      // The mock works a batch out when it is created, so its per-record counts include canceled lines: check the ledger only.
      for (const row of fixture.ledger().finished()) {
        const expected = analyseSentiment(sampleFeedback(Number(row.key)));
        assert.deepEqual(row.output, { sentiment: expected.sentiment, score: expected.score }, `record ${row.key}`);
      }
    });
  });

  it('finds the batch made from a kept request file when its id was never saved, and reads only its own lines', async () => {
    const mock = await startMockLlm({ batchProcessingMs: 50, seed: 13 });
    const dir = await mkdtemp(join(tmpdir(), 'drover-anthropic-batch-'));
    try {
      const body = (text: string): ChatRequestBody => ({ model, messages: [{ role: 'user', content: text }], max_tokens: 64 });
      const write = async (name: string, api: AnthropicBatchApi, lines: number) => {
        const path = join(dir, name);
        await writeFile(path, Array.from({ length: lines }, (_, line) => `${api.encodeLine(`drover-1-${line}`, body(`line ${line}`))}\n`).join(''));
        return path;
      };
      const signal = new AbortController().signal;
      const api = new AnthropicBatchApi({ baseUrl: mock.url, headers: {}, apiKey: undefined }, 10_000, 'jobone');
      const other = new AnthropicBatchApi({ baseUrl: mock.url, headers: {}, apiKey: undefined }, 10_000, 'jobtwo');

      const kept = await api.upload(await write('batch-input-1.jsonl', api, 3), signal);
      const created = await api.create(kept, '24h', signal); // …and the run dies before saving created.id
      const otherKept = await other.upload(await write('batch-input-2.jsonl', other, 3), signal);
      const otherCreated = await other.create(otherKept, '24h', signal);
      assert.equal((await api.findByInput(kept, signal))?.id, created.id, 'the oldest batch of the same size since the file was kept');
      assert.equal((await api.findByInput(await api.upload(await write('batch-input-3.jsonl', api, 4), signal), signal)), null, 'none of its size: created anew');

      // Adopted by mistake (same size, same minutes), another job's batch gives this job no lines.
      while ((await api.retrieve(otherCreated.id, signal)).status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 20));
      const foreign = [];
      for await (const line of api.results(otherCreated.id, signal)) foreign.push(line);
      assert.deepEqual(foreign, []);
      const own = [];
      for await (const line of api.results(created.id, signal)) own.push(line);
      assert.deepEqual(own.map((line) => line.customId).sort(), ['drover-1-0', 'drover-1-1', 'drover-1-2']);
      assert.ok(own.every((line) => line.outcome.ok));

      await api.release(kept);
      assert.ok(!(await readdir(dir)).includes('batch-input-1.anthropic.jsonl'), 'released once its id is saved');
    } finally {
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
