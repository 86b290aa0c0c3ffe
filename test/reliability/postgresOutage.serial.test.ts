// Postgres stopped for 20 s in the middle of a job whose source and sink are both on it:
// reads and writes wait for the server (reconnecting with backoff), and once it is back the
// job carries on to the end with every record done exactly once. Serial: it stops the
// shared server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import { validateSpec } from '../../daemon/spec/loadSpec';
import { waitFor } from '../support/cli';
import { createFixture } from '../support/engineFixture';
import { postgresTestDb, startPostgres, stopPostgres, waitForPostgres } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';

const pg = postgresTestDb('drover_pg_outage');
const rows = 4000;

before(() => pg.setUp());
after(() => pg.tearDown());

describe('Postgres stopped for 20 s mid-run (source and sink on it)', () => {
  it('the job carries on once the server is back; every record done once in the ledger and the results table', async () => {
    const fixture = await createFixture(0, { latencyMs: 150 });
    const source = `${pg.schema}.feedback`;
    await pg.sql(`CREATE TABLE ${source} (id integer PRIMARY KEY, text text NOT NULL)`);
    await pg.sql(`INSERT INTO ${source} SELECT g, 'feedback ' || g || CASE WHEN g % 2 = 0 THEN ' awful' ELSE ' lovely' END FROM generate_series(1, $1::int) g`, [rows]);
    try {
      const spec = validateSpec({
        name: 'pg-outage',
        source: { type: 'postgres', url: postgresUrl, table: source, key: 'id', pageSize: 200 },
        prompt: { template: '{{text}}' },
        provider: { baseUrl: fixture.mock.url },
        cache: false,
        limits: { concurrency: 2 },
        retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 100 },
        sink: { type: 'postgres', table: `${source}_results` },
      });
      const run = new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= 400, 60_000, 'the job under way');
      await stopPostgres();
      const answeredWhenStopped = Object.keys(fixture.mock.recordCounts()).length;
      try {
        await new Promise((resolve) => setTimeout(resolve, 20_000));
      } finally {
        await startPostgres();
        await waitForPostgres();
      }
      const summary = await run;
      assert.equal(summary.status, 'done', summary.statusReason ?? '');
      assert.deepEqual(summary.records, { total: rows, done: rows, failed: 0 });
      const counts = fixture.mock.recordCounts();
      assert.ok(answeredWhenStopped < rows, 'the server went away mid-run');
      assert.equal(Object.keys(counts).length, rows);
      assert.ok(Object.values(counts).every((count) => count === 1), 'no record was sent twice');
      const [results] = await pg.sql(`SELECT count(*) AS n, count(DISTINCT key) AS keys, count(*) FILTER (WHERE status = 'done') AS done FROM ${source}_results`);
      assert.deepEqual(results, { n: String(rows), keys: String(rows), done: String(rows) });
    } finally {
      await fixture.cleanup();
    }
  });
});
