// Tests that restart the Postgres server. They disturb every connection on the machine, so
// they live in a *.serial.test.ts file, which npm test runs on its own before the rest.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { openPostgresSink } from '../../daemon/sinks/postgresSink';
import type { ResultRow } from '../../daemon/sinks/sink';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import { validateSpec } from '../../daemon/spec/loadSpec';
import { waitFor } from '../support/cli';
import { createFixture } from '../support/engineFixture';
import { postgresTestDb, restartPostgres, slowQuery, sourceSpec, uniqueName, waitForPostgres, withSource } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';

const db = postgresTestDb('drover_restart');
const { schema, sql, backendsOf, whenActive, createNumbered } = db;

before(() => db.setUp());
after(() => db.tearDown());

describe('postgres server restart', () => {
  it('a source carries on through a server restart mid-read, every row exactly once', async () => {
    const expected = await createNumbered(`${schema}.restart_read`, 2000);
    const applicationName = uniqueName('drover_test_restart');
    const spec = sourceSpec({ url: `${postgresUrl}?application_name=${applicationName}`, query: slowQuery(`${schema}.restart_read`), pageSize: 200 });

    let restarted: Promise<unknown> | undefined;
    const keys = await withSource(spec, async (source) => {
      const seen: string[] = [];
      for await (const item of source.read()) {
        seen.push(item.key);
        if (seen.length === 250) restarted = whenActive(applicationName).then(restartPostgres);
      }
      return seen;
    });
    await restarted;
    await waitForPostgres();
    assert.deepEqual(keys, expected, 'every row once, in order');
  });

  it('a sink write issued while the server restarts lands once it is back', async () => {
    const applicationName = uniqueName('drover_test_sink_restart');
    const sink = await openPostgresSink(
      { type: 'postgres', url: `${postgresUrl}?application_name=${applicationName}`, table: `${schema}.restart_results` },
      { jobName: 'restart', outputSchema: { type: 'object', properties: { n: { type: 'integer' } } } },
    );
    const rows = (from: number, count: number): ResultRow[] =>
      Array.from({ length: count }, (_unused, index) => ({
        key: String(from + index),
        ordinal: from + index,
        status: 'done',
        output: { n: from + index },
        error: null,
        errorClass: null,
        attempts: 1,
        promptTokens: 10,
        completionTokens: 2,
        costUsd: 0.0001,
        model: 'mock',
        updatedAt: new Date().toISOString(),
      }));
    try {
      await sink.open(null);
      await sink.write(rows(1, 100));
      const before = await backendsOf(applicationName);
      const restarting = restartPostgres();
      await sleep(200); // the server is going down or starting up now
      await sink.write(rows(101, 100));
      await restarting;
      await sink.write(rows(201, 100));
      const after = await backendsOf(applicationName);
      assert.notDeepEqual(after, before, 'the sink reconnected');
    } finally {
      await sink.close();
    }
    const [summary] = await sql(`SELECT count(*)::int AS rows, count(DISTINCT key)::int AS keys, sum(n)::int AS total FROM ${schema}.restart_results`);
    assert.deepEqual(summary, { rows: 300, keys: 300, total: (300 * 301) / 2 });
  });
});

describe('drover run through a Postgres server restart', () => {
  it('source and sink on Postgres: the job carries on and every record is done once', async () => {
    const fixture = await createFixture(0, { latencyMs: 20 });
    try {
      const table = `${schema}.engine_restart`;
      await sql(`CREATE TABLE ${table} (id bigint PRIMARY KEY, text text NOT NULL)`);
      await sql(`INSERT INTO ${table} SELECT g, 'great product ' || g FROM generate_series(1, 3000) g`);
      const spec = validateSpec({
        name: 'pg-restart',
        source: { type: 'postgres', url: postgresUrl, table, key: 'id', pageSize: 200 },
        prompt: { template: '{{text}}' },
        model: 'gpt-4.1-mini',
        provider: { baseUrl: fixture.mock.url },
        cache: false,
        limits: { concurrency: 4 },
        sink: { type: 'postgres', table: `${table}_results` },
      });
      const run = new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= 800, 60_000, '800 answered');
      await restartPostgres();
      const summary = await run;
      await waitForPostgres();
      assert.equal(summary.status, 'done', summary.statusReason ?? '');
      assert.equal(summary.records.done, 3000);
      assert.ok(Object.values(fixture.mock.recordCounts()).every((count) => count === 1), 'no record sent twice');
      const [written] = await sql(`SELECT count(*)::int AS rows, count(DISTINCT key)::int AS keys FROM ${table}_results WHERE status = 'done'`);
      assert.deepEqual(written, { rows: 3000, keys: 3000 });
    } finally {
      await fixture.cleanup();
    }
  });
});
