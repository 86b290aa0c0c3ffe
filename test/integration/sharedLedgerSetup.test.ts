// A job on the shared Postgres ledger run in-process: what it refuses before starting (a
// sink outside the ledger's database, a spec that differs from the job's), and what a pause
// means across workers (this worker stops and gives its claims back; the others finish).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import { JobSetupError } from '../../daemon/pipeline/jobSetup';
import type { JobSpecInput } from '../../daemon/spec/jobSpec';
import { validateSpec } from '../../daemon/spec/loadSpec';
import { waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';
import { postgresTestDb, uniqueName } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';

const db = postgresTestDb('drover_shared_setup');
const { schema, sql } = db;

before(() => db.setUp());
after(() => db.tearDown());

async function sourceTable(rows: number): Promise<string> {
  const table = `${schema}.${uniqueName('source')}`;
  await sql(`CREATE TABLE ${table} (id bigint PRIMARY KEY, text text NOT NULL)`);
  await sql(`INSERT INTO ${table} SELECT g, 'feedback ' || g FROM generate_series(1, $1::int) g`, [rows]);
  return table;
}

function sharedSpec(fixture: Fixture, job: string, table: string, extra: Partial<JobSpecInput> = {}) {
  return validateSpec({
    name: job,
    source: { type: 'postgres', url: postgresUrl, table, key: 'id' },
    prompt: { template: '{{text}}' },
    model: 'gpt-4.1-mini',
    provider: { baseUrl: fixture.mock.url },
    cache: false,
    batching: { recordsPerRequest: 5 },
    limits: { concurrency: 2 },
    retry: { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 50 },
    ledger: { postgres: postgresUrl, schema, leaseMs: 2000, claimSize: 20 },
    sink: { type: 'postgres', table: `${schema}.${job}_results` },
    ...extra,
  });
}

describe('a job on the shared Postgres ledger', () => {
  it('refuses a file sink, a sink in another database and a password in the ledger URL, saying what to do', async () => {
    const fixture = await createFixture(0);
    try {
      const table = await sourceTable(10);
      const fileSink = sharedSpec(fixture, 'file-sink', table, { sink: { type: 'jsonl', path: 'out.jsonl' } });
      await assert.rejects(new JobRunner(fileSink, { stateDir: fixture.stateDir }).run(), (error: Error) => {
        assert.ok(error instanceof JobSetupError);
        assert.match(error.message, /a jsonl sink cannot take part/);
        assert.match(error.message, /"sink": \{"type": "postgres"\}/);
        return true;
      });
      const elsewhere = sharedSpec(fixture, 'elsewhere', table, { sink: { type: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/other' } });
      await assert.rejects(new JobRunner(elsewhere, { stateDir: fixture.stateDir }).run(), /sink\.url: with a Postgres ledger/);
      const withPassword = sharedSpec(fixture, 'password', table, { ledger: { postgres: 'postgres://postgres:secret@127.0.0.1:5432/test', schema } });
      await assert.rejects(new JobRunner(withPassword, { stateDir: fixture.stateDir }).run(), (error: Error) => {
        assert.match(error.message, /^ledger\.postgres contains a password.*ledger\.passwordEnv/s);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      });
    } finally {
      await fixture.cleanup();
    }
  });

  it('refuses a worker whose prompt differs from the job\'s', async () => {
    const fixture = await createFixture(0);
    try {
      const table = await sourceTable(20);
      const job = uniqueName('mismatch');
      const summary = await new JobRunner(sharedSpec(fixture, job, table), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done');
      const changed = sharedSpec(fixture, job, table, { prompt: { template: 'Other: {{text}}' } });
      await assert.rejects(new JobRunner(changed, { stateDir: `${fixture.stateDir}-2` }).run(), /runs a different prompt, template, output schema or model/);
      // The same spec again, finished: nothing is pending, nothing is sent.
      const requests = fixture.mock.stats().requests.total;
      const again = await new JobRunner(sharedSpec(fixture, job, table), { stateDir: `${fixture.stateDir}-3` }).run();
      assert.equal(again.status, 'done');
      assert.equal(again.records.done, 20);
      assert.equal(fixture.mock.stats().requests.total, requests);
    } finally {
      await fixture.cleanup();
    }
  });

  it('fails rows without a usable key through the same fenced commit, into the results table', async () => {
    const fixture = await createFixture(0);
    try {
      const table = `${schema}.${uniqueName('keys')}`;
      await sql(`CREATE TABLE ${table} (id bigint, text text NOT NULL)`);
      await sql(`INSERT INTO ${table} VALUES (1, 'one'), (NULL, 'no key'), (2, 'two'), (2, 'two again'), (3, 'three')`);
      const job = uniqueName('malformed');
      const summary = await new JobRunner(sharedSpec(fixture, job, table), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done');
      assert.deepEqual(summary.records, { total: 5, done: 3, failed: 2 });
      const rows = await sql(`SELECT key, status, error_class FROM ${schema}.${job}_results ORDER BY key`);
      assert.deepEqual(rows, [
        { key: '1', status: 'done', error_class: null },
        { key: '2', status: 'done', error_class: null },
        { key: '3', status: 'done', error_class: null },
        { key: 'duplicate:2#2', status: 'failed', error_class: 'malformed' },
        { key: 'null-key:1', status: 'failed', error_class: 'malformed' },
      ]);
    } finally {
      await fixture.cleanup();
    }
  });

  it('ends a record that never gets a valid answer failed after retry.maxAttempts, counted across workers', async () => {
    // Every answer is cut mid-way (invalid JSON): each record is retried until its attempts run out.
    const fixture = await createFixture(0, { failBadJson: 1, latencyMs: 5 });
    try {
      const table = await sourceTable(30);
      const job = uniqueName('poison');
      const spec = sharedSpec(fixture, job, table, { retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 } });
      const [first, second] = await Promise.all([
        new JobRunner(spec, { stateDir: `${fixture.stateDir}-a` }).run(),
        new JobRunner(spec, { stateDir: `${fixture.stateDir}-b` }).run(),
      ]);
      for (const summary of [first, second]) {
        assert.equal(summary.status, 'done');
        assert.deepEqual(summary.records, { total: 30, done: 0, failed: 30 });
      }
      const attempts = await sql(`SELECT attempts, count(*) AS n FROM ${schema}.records WHERE job = $1 AND status = 'failed' GROUP BY attempts`, [job]);
      assert.deepEqual(attempts, [{ attempts: 3, n: '30' }], 'three attempts each, whichever worker made them');
      const jobRow = await sql(`SELECT status, status_reason, requests FROM ${schema}.jobs WHERE name = $1`, [job]);
      assert.equal(jobRow[0]?.status, 'done');
      assert.equal(jobRow[0]?.status_reason, '30 records failed');
      assert.equal(Number(jobRow[0]?.requests), fixture.mock.stats().requests.total, 'every request is counted in the shared row');
      const results = await sql(`SELECT count(*) AS n FROM ${schema}.${job}_results WHERE status = 'failed' AND attempts = 3`);
      assert.equal(results[0]?.n, '30');
    } finally {
      await fixture.cleanup();
    }
  });

  it('counts what the other workers spend against the budget: the job stops near it, not at workers × budget', async () => {
    const fixture = await createFixture(0, { latencyMs: 200 });
    try {
      const table = await sourceTable(3000);
      const job = uniqueName('budget');
      const budgetUsd = 0.03;
      const spec = sharedSpec(fixture, job, table, { limits: { concurrency: 2, budgetUsd } });
      const summaries = await Promise.all(['a', 'b'].map((name) => new JobRunner(spec, { stateDir: `${fixture.stateDir}-${name}` }).run()));
      for (const summary of summaries) {
        assert.equal(summary.status, 'paused');
        assert.match(summary.statusReason ?? '', /budget/);
      }
      const [row] = await sql(`SELECT cost_usd FROM ${schema}.jobs WHERE name = $1`, [job]);
      const spent = Number(row?.cost_usd);
      // Each worker alone would have stopped at the budget: twice it between them.
      assert.ok(spent > budgetUsd * 0.8 && spent <= budgetUsd * 1.25, `spent $${spent} of a $${budgetUsd} budget`);
    } finally {
      await fixture.cleanup();
    }
  });

  it('a paused worker gives its claims back at once and the other finishes the job', async () => {
    const fixture = await createFixture(0, { latencyMs: 40 });
    try {
      const table = await sourceTable(600);
      const job = uniqueName('pause');
      // A long lease: records the paused worker did not give back would stall the job for a minute.
      const spec = sharedSpec(fixture, job, table, { ledger: { postgres: postgresUrl, schema, leaseMs: 60_000, claimSize: 20 } });
      const logs: string[] = [];
      const pausing = new JobRunner(spec, { stateDir: `${fixture.stateDir}-a`, listener: { log: (event) => logs.push(event.message) } });
      const staying = new JobRunner(spec, { stateDir: `${fixture.stateDir}-b` });
      const pausedRun = pausing.run();
      const stayingRun = staying.run();
      await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= 150, 30_000, '150 records answered');
      pausing.pause();
      const paused = await pausedRun;
      assert.equal(paused.status, 'paused');
      const pausedOwner = logs.map((message) => /^worker (\S+) joined/.exec(message)?.[1]).find(Boolean);
      assert.ok(pausedOwner);
      const leasedByPaused = await sql(`SELECT count(*) AS n FROM ${schema}.records WHERE job = $1 AND status = 'pending' AND lease_owner = $2`, [job, pausedOwner]);
      assert.equal(leasedByPaused[0]?.n, '0', 'the paused worker holds no claim');
      const jobWhilePaused = await sql(`SELECT status FROM ${schema}.jobs WHERE name = $1`, [job]);
      assert.equal(jobWhilePaused[0]?.status, 'running', "one worker's pause does not pause the job");
      const finished = await stayingRun;
      assert.equal(finished.status, 'done');
      assert.deepEqual(finished.records, { total: 600, done: 600, failed: 0 });
      const rows = await sql(`SELECT count(*) AS n FROM ${schema}.${job}_results WHERE status = 'done'`);
      assert.equal(rows[0]?.n, '600');
      const jobRow = await sql(`SELECT status FROM ${schema}.jobs WHERE name = $1`, [job]);
      assert.equal(jobRow[0]?.status, 'done');
    } finally {
      await fixture.cleanup();
    }
  });
});
