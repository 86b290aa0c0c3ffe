// The engine's connections to Postgres (source and sink) through the fault proxy: reset,
// refused for a while, and half-open (a middlebox lost the server; the client's socket stays
// open and nothing ever answers). The job must carry on once the fault clears, with every
// record done exactly once in the ledger and in the results table.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import { validateSpec } from '../../daemon/spec/loadSpec';
import { waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';
import { startFaultProxy, type FaultMode, type FaultProxy } from '../support/faultProxy';
import { postgresTestDb } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';

const pg = postgresTestDb('drover_pg_faults');
const rows = 3000;

before(() => pg.setUp());
after(() => pg.tearDown());

async function table(name: string): Promise<string> {
  const qualified = `${pg.schema}.${name}`;
  await pg.sql(`CREATE TABLE ${qualified} (id integer PRIMARY KEY, text text NOT NULL)`);
  await pg.sql(`INSERT INTO ${qualified} SELECT g, 'feedback ' || g || CASE WHEN g % 3 = 0 THEN ' terrible' ELSE ' great' END FROM generate_series(1, $1::int) g`, [rows]);
  return qualified;
}

function spec(fixture: Fixture, proxy: FaultProxy, source: string) {
  const { pathname } = new URL(postgresUrl);
  const url = `postgres://postgres@127.0.0.1:${proxy.port}${pathname}`;
  return validateSpec({
    name: source.replace(/\W/g, '_'),
    source: { type: 'postgres', url, table: source, key: 'id', pageSize: 100, statementTimeoutMs: 2000 },
    prompt: { template: '{{text}}' },
    provider: { baseUrl: fixture.mock.url },
    cache: false,
    limits: { concurrency: 4 },
    retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 100 },
    sink: { type: 'postgres', table: `${source}_results` },
  });
}

async function throughPostgresFault(name: string, mode: FaultMode, faultMs: number): Promise<void> {
  const fixture = await createFixture(0, { latencyMs: 20 });
  const { hostname, port } = new URL(postgresUrl);
  const proxy = await startFaultProxy({ host: hostname, port: Number(port) });
  try {
    const source = await table(name);
    const job = spec(fixture, proxy, source);
    const run = new JobRunner(job, { stateDir: fixture.stateDir }).run();
    await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= 600, 60_000, 'the job under way');
    await proxy.setMode(mode);
    await new Promise((resolve) => setTimeout(resolve, faultMs));
    await proxy.setMode({ kind: 'pass' });
    const summary = await run;
    assert.equal(summary.status, 'done', summary.statusReason ?? '');
    assert.deepEqual(summary.records, { total: rows, done: rows, failed: 0 });
    const counts = fixture.mock.recordCounts();
    assert.equal(Object.keys(counts).length, rows);
    assert.ok(Object.values(counts).every((count) => count === 1), 'no record was sent twice');
    const [results] = await pg.sql(`SELECT count(*) AS n, count(DISTINCT key) AS keys, count(*) FILTER (WHERE status = 'done') AS done FROM ${source}_results`);
    assert.deepEqual(results, { n: String(rows), keys: String(rows), done: String(rows) });
  } finally {
    await proxy.close();
    await fixture.cleanup();
  }
}

describe('Postgres source and sink through the fault proxy', () => {
  it('connections reset mid-run: both reconnect, every record done once', async () => {
    await throughPostgresFault('reset', { kind: 'reset' }, 1000);
  });

  it('the server unreachable (refused) for 3 s mid-run: the job waits and carries on', async () => {
    await throughPostgresFault('refused', { kind: 'refuse' }, 3000);
  });

  // The source gives up on a silent read after its statementTimeoutMs (2 s here) + 5 s, the
  // sink on a silent write after 30 s; then each reconnects.
  it('half-open connections mid-run (nothing ever answers, no FIN, no RST): client-side timeouts end the wait, and the job carries on', async () => {
    await throughPostgresFault('half_open', { kind: 'halfOpen' }, 1000);
  });
});
