// Tests that restart the Postgres server. They disturb every connection on the machine, so
// they live in a *.serial.test.ts file, which npm test runs on its own before the rest.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { openPostgresSink } from '../../daemon/sinks/postgresSink';
import type { ResultRow } from '../../daemon/sinks/sink';
import { openPostgresSource } from '../../daemon/sources/postgresSource';
import type { RecordSource } from '../../daemon/sources/source';
import { type PostgresSourceSpec, postgresSourceSchema } from '../../daemon/spec/jobSpec';
import { postgresTestDb, restartPostgres, slowQuery, uniqueName, waitForPostgres } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';

const db = postgresTestDb('drover_restart');
const { schema, sql, backendsOf, whenActive, createNumbered } = db;

const sourceSpec = (fields: Partial<PostgresSourceSpec>): PostgresSourceSpec =>
  postgresSourceSchema.parse({ type: 'postgres', url: postgresUrl, statementTimeoutMs: 30_000, ...fields });

async function withSource<T>(spec: PostgresSourceSpec, use: (source: RecordSource) => Promise<T>): Promise<T> {
  const source = await openPostgresSource(spec);
  try {
    return await use(source);
  } finally {
    await source.close();
  }
}

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
