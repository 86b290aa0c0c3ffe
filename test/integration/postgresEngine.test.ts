import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleFeedback } from '../../daemon/demo/sampleFeedback';
import { estimateJob } from '../../daemon/estimate/estimateJob';
import { Ledger } from '../../daemon/ledger/ledger';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import { jobLogEventSchema, jobSummarySchema } from '../../daemon/protocol/jobProgress';
import { validateSpec } from '../../daemon/spec/loadSpec';
import { runCli, startCli, waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';
import { postgresTestDb, uniqueName } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';

const db = postgresTestDb('drover_engine');
const { schema, sql } = db;

before(() => db.setUp());
after(() => db.tearDown());

/** Feedback rows with every seventh id missing, so the keys have gaps. */
async function createFeedbackTable(table: string, rows: number): Promise<number[]> {
  await sql(`CREATE TABLE ${table} (id bigint PRIMARY KEY, text text NOT NULL)`);
  const ids = Array.from({ length: rows }, (_, index) => index + 1).filter((id) => id % 7 !== 0);
  await sql(`INSERT INTO ${table} SELECT * FROM unnest($1::bigint[], $2::text[])`, [ids, ids.map((id) => `${sampleFeedback(id)} #${id}`)]);
  return ids;
}

function pgSpec(fixture: Fixture, table: string, extra: Record<string, unknown> = {}, applicationName = 'drover_test') {
  return {
    name: 'pg-feedback',
    source: { type: 'postgres', url: `${postgresUrl}?application_name=${applicationName}`, table, key: 'id', pageSize: 200 },
    prompt: { template: '{{text}}' },
    model: 'gpt-4.1-mini',
    provider: { baseUrl: fixture.mock.url },
    cache: false,
    retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 100 },
    sink: { type: 'postgres', table: `${table}_results` },
    ...extra,
  };
}

async function assertResultsTable(table: string, ids: number[]) {
  const rows = await sql(`SELECT key, status, sentiment, score FROM ${table}_results ORDER BY key::bigint`);
  assert.equal(rows.length, ids.length, 'one results row per source row');
  rows.forEach((row, index) => {
    const id = ids[index];
    const expected = analyseSentiment(`${sampleFeedback(id)} #${id}`);
    assert.deepEqual(row, { key: String(id), status: 'done', sentiment: expected.sentiment, score: String(expected.score) });
  });
}

describe('drover run on Postgres (source and sink)', () => {
  it('reads a table with gaps in its keys and writes every answer back, typed', async () => {
    const fixture = await createFixture(0);
    try {
      const table = `${schema}.gaps`;
      const ids = await createFeedbackTable(table, 3000);
      const summary = await new JobRunner(validateSpec(pgSpec(fixture, table)), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done');
      assert.deepEqual(summary.records, { total: ids.length, done: ids.length, failed: 0 });
      await assertResultsTable(table, ids);
      assert.ok(Object.values(fixture.mock.recordCounts()).every((count) => count === 1));
    } finally {
      await fixture.cleanup();
    }
  });

  it('after SIGKILL, resumes right after the last finished key and sends nothing finished again', async () => {
    const fixture = await createFixture(0, { latencyMs: 80 });
    try {
      const table = `${schema}.killed`;
      const ids = await createFeedbackTable(table, 4000);
      const specPath = join(fixture.dir, 'pg.drover.json');
      await writeFile(specPath, JSON.stringify(pgSpec(fixture, table, { limits: { concurrency: 4 } })));
      const args = ['run', specPath, '--json', '--state-dir', fixture.stateDir];
      const first = startCli(args);
      await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= 800, 60_000, '800 records answered');
      first.child.kill('SIGKILL');
      await first.exited;

      const ledger = Ledger.openReadOnly(fixture.stateDir, 'pg-feedback');
      const watermark = ledger.job()?.watermark;
      const finished = new Set([...ledger.finished()].map((row) => row.key));
      ledger.close();
      assert.ok(watermark && typeof watermark.key === 'string', 'a resume point was saved');
      const resumeKey = Number(watermark.key);
      assert.ok(ids.filter((id) => id <= resumeKey).every((id) => finished.has(String(id))), 'everything up to the watermark is finished');
      const countsBefore = fixture.mock.recordCounts();

      const second = await runCli(args);
      assert.equal(second.code, 0, second.stderr);
      const events = second.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string });
      const resumed = events.filter((event) => event.type === 'log').map((event) => jobLogEventSchema.parse({ ...event, type: undefined }));
      assert.ok(resumed.some((event) => event.message === `resuming after record ${watermark.key}`), JSON.stringify(resumed));
      const summary = jobSummarySchema.parse(events.at(-1));
      assert.deepEqual(summary.records, { total: ids.length, done: ids.length, failed: 0 });

      const countsAfter = fixture.mock.recordCounts();
      for (const key of finished) assert.equal(countsAfter[key], countsBefore[key], `record ${key} was sent again`);
      await assertResultsTable(table, ids);
    } finally {
      await fixture.cleanup();
    }
  });

  it('carries on when the reading connection is terminated mid-run, every record done once', async () => {
    const fixture = await createFixture(0, { latencyMs: 20 });
    try {
      const table = `${schema}.terminated`;
      const ids = await createFeedbackTable(table, 3000);
      const applicationName = uniqueName('drover_engine_kill');
      const spec = validateSpec(pgSpec(fixture, table, { limits: { concurrency: 4 } }, applicationName));
      const run = new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      let terminated = 0;
      for (const threshold of [400, 1200, 2000]) {
        await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= threshold, 60_000, `${threshold} answered`);
        const pids = await db.backendsOf(applicationName);
        await db.terminate(pids);
        terminated += pids.length;
      }
      const summary = await run;
      assert.ok(terminated >= 3, `terminated ${terminated} connections`);
      assert.equal(summary.status, 'done');
      assert.equal(summary.records.done, ids.length);
      assert.ok(Object.values(fixture.mock.recordCounts()).every((count) => count === 1), 'no record sent twice');
      await assertResultsTable(table, ids);
    } finally {
      await fixture.cleanup();
    }
  });

  it('estimates a large table from a stated random sample', async () => {
    const fixture = await createFixture(0);
    try {
      const table = `${schema}.big`;
      await createFeedbackTable(table, 30_000);
      await sql(`ANALYZE ${table}`);
      const estimate = await estimateJob(validateSpec(pgSpec(fixture, table)), { sampleSize: 500, fullScanLimit: 10_000 });
      assert.equal(estimate.records.basis, 'random');
      assert.ok(estimate.records.scanned > 0 && estimate.records.scanned <= 500);
      const total = estimate.records.total;
      assert.ok(Math.abs(total - 25_715) / 25_715 < 0.2, `total ${total}`);
      assert.ok(estimate.requests > 1000 && estimate.requests < 1600, `requests ${estimate.requests}`);
    } finally {
      await fixture.cleanup();
    }
  });
});
