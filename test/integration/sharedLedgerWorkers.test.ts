// Several `drover run` workers on one job through the shared Postgres ledger, as separate
// processes against the real server and the mock LLM: one is stopped (SIGSTOP) past its
// lease and continued, one is killed mid-job while others join; every record still gets
// exactly one answer, the right one, and a worker that lost its lease commits nothing.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sampleFeedback } from '../../daemon/demo/sampleFeedback';
import { analyseSentiment } from '../../daemon/mockLlm/analyst';
import { jobSummarySchema } from '../../daemon/protocol/jobProgress';
import type { JobState } from '../../daemon/protocol/rpc';
import { type CliRun, startCli, waitFor } from '../support/cli';
import { type RunningDaemon, startDaemon } from '../support/daemonHarness';
import { createFixture, type Fixture } from '../support/engineFixture';
import { postgresTestDb, slowQuery, uniqueName } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';

const db = postgresTestDb('drover_workers');
const { schema, sql } = db;
const leaseMs = 1500;

before(() => db.setUp());
after(() => db.tearDown());

async function createFeedbackTable(table: string, rows: number): Promise<number[]> {
  await sql(`CREATE TABLE ${table} (id bigint PRIMARY KEY, text text NOT NULL)`);
  const ids = Array.from({ length: rows }, (_, index) => index + 1);
  await sql(`INSERT INTO ${table} SELECT * FROM unnest($1::bigint[], $2::text[])`, [ids, ids.map((id) => `${sampleFeedback(id)} #${id}`)]);
  return ids;
}

async function writeSpec(fixture: Fixture, job: string, source: Record<string, unknown>): Promise<string> {
  const path = join(fixture.dir, `${job}.drover.json`);
  const spec = {
    name: job,
    source: { type: 'postgres', url: postgresUrl, key: 'id', ...source },
    prompt: { template: '{{text}}' },
    model: 'gpt-4.1-mini',
    provider: { baseUrl: fixture.mock.url },
    cache: false,
    batching: { recordsPerRequest: 10 },
    limits: { concurrency: 4 },
    retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 100 },
    ledger: { postgres: postgresUrl, schema, leaseMs, claimSize: 40 },
    sink: { type: 'postgres', table: `${schema}.${job}_results` },
  };
  await writeFile(path, JSON.stringify(spec));
  return path;
}

interface Worker {
  run: CliRun;
  /** The worker's id in the ledger (lease_owner, committed_by), from its first log line. */
  owner(): string;
  /** The same, or undefined while the worker has not joined yet. */
  joinedAs(): string | undefined;
  logs(): string[];
}

function startWorker(fixture: Fixture, specPath: string, index: number): Worker {
  const run = startCli(['run', specPath, '--json', '--state-dir', join(fixture.dir, `state-${index}`)]);
  const events = () =>
    run
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { type: string; message?: string });
  const logs = () => events().filter((event) => event.type === 'log').map((event) => event.message ?? '');
  const joinedAs = () => logs().map((message) => /^worker (\S+) joined/.exec(message)?.[1]).find((owner) => owner !== undefined);
  return {
    run,
    logs,
    joinedAs,
    owner: () => {
      const joined = joinedAs();
      assert.ok(joined, `worker ${index} logged no "joined" line: ${run.stdout()} ${run.stderr()}`);
      return joined;
    },
  };
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

const countOf = async (query: string, values: unknown[] = []) => Number((await sql(query, values))[0]?.n ?? 0);
/** Answers committed so far (none while the first worker is still creating the table). */
const resultsCount = (job: string) =>
  countOf(`SELECT CASE WHEN to_regclass($1) IS NULL THEN 0 ELSE (xpath('/row/n/text()', query_to_xml('SELECT count(*) AS n FROM ' || $1, false, true, '')))[1]::text::bigint END AS n`, [`${schema}.${job}_results`]);

async function exitsCleanly(worker: Worker, name: string): Promise<void> {
  const { code, signal } = await worker.run.exited;
  assert.equal(signal, null, `${name} was killed by ${signal}`);
  assert.equal(code, 0, `${name} exited ${code}: ${worker.run.stderr()}`);
  const summary = jobSummarySchema.parse(JSON.parse(worker.run.stdout().trim().split('\n').at(-1) ?? '{}'));
  assert.equal(summary.status, 'done');
}

/** Every record done exactly once, with the answer the mock's analyst gives for its text. */
async function assertExactlyOnce(job: string, ids: number[]): Promise<void> {
  const rows = await sql(`SELECT key, status, sentiment, score FROM ${schema}.${job}_results ORDER BY key::bigint`);
  assert.equal(rows.length, ids.length, 'one results row per record');
  rows.forEach((row, index) => {
    const id = ids[index];
    const expected = analyseSentiment(`${sampleFeedback(id)} #${id}`);
    assert.deepEqual(row, { key: String(id), status: 'done', sentiment: expected.sentiment, score: String(expected.score) });
  });
  const ledger = await sql(`SELECT status, count(*) AS n FROM ${schema}.records WHERE job = $1 GROUP BY status`, [job]);
  assert.deepEqual(ledger, [{ status: 'done', n: String(ids.length) }], 'the ledger has every record done');
  const jobRow = await sql(`SELECT status, loaded, total FROM ${schema}.jobs WHERE name = $1`, [job]);
  assert.deepEqual(jobRow[0], { status: 'done', loaded: true, total: String(ids.length) });
}

describe('several workers on one job through the Postgres ledger', () => {
  it('three workers, one stopped past its lease: one answer per record, the stale commit refused', async () => {
    // Slow answers: when the worker is stopped its requests are almost surely in flight, and
    // their answers come back to a worker that no longer holds the records.
    const fixture = await createFixture(0, { latencyMs: 300 });
    const workers: Worker[] = [];
    try {
      const job = uniqueName('three');
      const ids = await createFeedbackTable(`${schema}.${job}_source`, 3000);
      const specPath = await writeSpec(fixture, job, { table: `${schema}.${job}_source`, pageSize: 500 });
      for (const index of [0, 1, 2]) workers.push(startWorker(fixture, specPath, index));
      await waitUntil(async () => (await resultsCount(job)) >= 600, 60_000, '600 answers committed');

      const stale = workers[1];
      const staleOwner = stale.owner();
      const leasedBy = (owner: string) => countOf(`SELECT count(*) AS n FROM ${schema}.records WHERE job = $1 AND status = 'pending' AND lease_owner = $2`, [job, owner]);
      await waitUntil(async () => (await leasedBy(staleOwner)) > 0, 30_000, 'the worker to hold claims');
      stale.run.child.kill('SIGSTOP');
      const heldWhenStopped = await leasedBy(staleOwner);
      assert.ok(heldWhenStopped > 0);
      // The others take over its records once its lease runs out on the database's clock.
      await waitUntil(async () => (await leasedBy(staleOwner)) === 0, 30_000, "the other workers to claim the stopped worker's records");
      await sleep(500);
      stale.run.child.kill('SIGCONT');

      await Promise.all(workers.map((worker, index) => exitsCleanly(worker, `worker ${index}`)));
      await assertExactlyOnce(job, ids);

      const staleLogs = stale.logs();
      const refused = staleLogs.filter((message) => message.includes('the commit was refused'));
      assert.ok(refused.length > 0, `the stopped worker tried to commit and was refused: ${staleLogs.join('\n')}`);
      const discarded = staleLogs.map((message) => /discarded (\d+) answers it could not commit/.exec(message)?.[1]).find((value) => value !== undefined);
      assert.ok(discarded !== undefined && Number(discarded) > 0, 'the stopped worker counted the answers it discarded');
      // The records it lost carry another worker's commit, never its own.
      // (A commit caught mid-transaction by the stop lost its session instead: discarded too.)
      const lostKeys = staleLogs
        .filter((message) => message.includes('the commit was refused') || message.startsWith('could not commit'))
        .flatMap((message) => (/records \(([^)…]*)/.exec(message)?.[1] ?? '').split(', ').filter(Boolean));
      assert.ok(lostKeys.length > 0);
      const committers = await sql(`SELECT key, committed_by FROM ${schema}.records WHERE job = $1 AND key = ANY($2::text[])`, [job, lostKeys]);
      assert.equal(committers.length, lostKeys.length);
      for (const row of committers) assert.notEqual(row.committed_by, staleOwner, `record ${String(row.key)}`);

      const owners = await sql(`SELECT committed_by, count(*) AS n FROM ${schema}.records WHERE job = $1 GROUP BY committed_by`, [job]);
      assert.equal(owners.length, 3, `all three workers committed answers: ${JSON.stringify(owners)}`);
      // Work repeated because of the lost lease is bounded by what the stopped worker held.
      const answered = Object.values(fixture.mock.recordCounts());
      assert.equal(answered.length, ids.length);
      const sent = answered.reduce((sum, count) => sum + count, 0);
      assert.ok(sent <= ids.length + 200, `${sent} records sent for ${ids.length}`);
      // The job's row adds up every worker's spend, the discarded answers' included.
      const [spend] = await sql(
        `SELECT j.requests, j.cost_usd, (SELECT sum(cost_usd) FROM ${schema}.records WHERE job = $1) AS committed_cost FROM ${schema}.jobs j WHERE name = $1`,
        [job],
      );
      assert.ok(Number(spend?.requests) > 0 && Number(spend?.requests) <= fixture.mock.stats().requests.total);
      assert.ok(Number(spend?.cost_usd) >= Number(spend?.committed_cost) - 1e-9, JSON.stringify(spend));
    } finally {
      for (const worker of workers) worker.run.child.kill('SIGKILL');
      await fixture.cleanup();
    }
  });

  it('a daemon and a drover run join mid-job and the first worker is killed mid-load: the job still completes exactly once', async () => {
    const fixture = await createFixture(0, { latencyMs: 30 });
    const workers: Worker[] = [];
    let daemon: RunningDaemon | undefined;
    try {
      const job = uniqueName('joining');
      const table = `${schema}.${job}_source`;
      const ids = await createFeedbackTable(table, 4000);
      // ~150 ms a page of 50: loading takes seconds, long enough to kill the loader mid-way.
      const specPath = await writeSpec(fixture, job, { query: slowQuery(table), pageSize: 50 });
      workers.push(startWorker(fixture, specPath, 0));
      await waitUntil(async () => (await resultsCount(job)) >= 200, 60_000, 'the first worker to commit answers');
      workers.push(startWorker(fixture, specPath, 1));
      // The third worker is a daemon, given the job over RPC as the editor gives it.
      daemon = await startDaemon(join(fixture.dir, 'daemon-home'));
      const client = await daemon.connect();
      const states: JobState[] = [];
      client.on('job.state', (state) => states.push(state));
      await client.call('job.start', { spec: JSON.parse(await readFile(specPath, 'utf8')) as Record<string, unknown>, baseDir: fixture.dir });
      const daemonOwner = () => /worker (\S+) joined/.exec(daemon?.stderr() ?? '')?.[1];
      const committedBy = (owner: string | undefined) => countOf(`SELECT count(*) AS n FROM ${schema}.records WHERE job = $1 AND committed_by = $2`, [job, owner ?? '']);
      await waitUntil(async () => (await committedBy(workers[1].joinedAs())) > 0 && (await committedBy(daemonOwner())) > 0, 60_000, 'the workers that joined to commit answers');
      const loaded = await sql(`SELECT loaded FROM ${schema}.jobs WHERE name = $1`, [job]);
      assert.equal(loaded[0]?.loaded, false, 'still loading when the loader is killed');
      workers[0].run.child.kill('SIGKILL');
      assert.equal((await workers[0].run.exited).signal, 'SIGKILL');

      await exitsCleanly(workers[1], 'worker 1');
      await waitFor(() => states.some((state) => state.status === 'done' && !state.active), 60_000, "the daemon's share to finish");
      // Another worker took over loading from the one killed: everything was loaded.
      await assertExactlyOnce(job, ids);
      const listed = (await client.call('job.list', {})).jobs.find((info) => info.jobId === job);
      assert.equal(listed?.status, 'done');
      assert.equal(listed.records.done, await committedBy(daemonOwner()), "the daemon lists the records it committed itself");
      const committers = await sql(`SELECT DISTINCT committed_by FROM ${schema}.records WHERE job = $1`, [job]);
      assert.equal(committers.length, 3, 'the killed worker and both that joined committed answers');
      await client.close();
      assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
    } finally {
      for (const worker of workers) worker.run.child.kill('SIGKILL');
      await daemon?.stop('SIGKILL');
      await fixture.cleanup();
    }
  });
});
