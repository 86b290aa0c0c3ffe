import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import { openPostgresSink, type PostgresSinkOptions, type PostgresSinkSpec } from '../../daemon/sinks/postgresSink';
import { type ResultRow, type ResultSink, SinkError } from '../../daemon/sinks/sink';
import { postgresUrl, requirePostgres } from '../support/services';

const schema = `drover_sink_${randomBytes(4).toString('hex')}`;
const admin = new Pool({ connectionString: postgresUrl, max: 3 });
admin.on('error', () => undefined);
const sql = async (text: string, values: unknown[] = []) => (await admin.query<Record<string, unknown>>(text, values)).rows;

const outputSchema = {
  type: 'object',
  properties: {
    sentiment: { type: 'string', enum: ['positive', 'negative', 'neutral'] },
    score: { type: 'integer', minimum: 0, maximum: 100 },
    confidence: { type: 'number' },
    flagged: { type: 'boolean' },
    summary: { type: ['string', 'null'] },
    language: { enum: ['en', 'ja'] },
    tags: { type: 'array', items: { type: 'string' } },
    details: { type: 'object' },
    status: { type: 'string' },
  },
};

function row(key: string, output: Record<string, unknown> | null, changes: Partial<ResultRow> = {}): ResultRow {
  return {
    key,
    ordinal: 1,
    status: output === null ? 'failed' : 'done',
    output,
    error: output === null ? 'the model answered nonsense' : null,
    errorClass: output === null ? 'invalid_output' : null,
    attempts: 1,
    promptTokens: 120,
    completionTokens: 14,
    costUsd: 0.00012,
    model: 'gpt-4.1-mini',
    updatedAt: '2025-01-02T03:04:05.678Z',
    ...changes,
  };
}

const answer = (score: unknown, extra: Record<string, unknown> = {}) => ({ sentiment: 'positive', score, ...extra });

async function openSink(spec: Partial<PostgresSinkSpec>, options: Partial<PostgresSinkOptions> = {}): Promise<ResultSink> {
  const sink = await openPostgresSink(
    { type: 'postgres', url: postgresUrl, ...spec },
    { jobName: 'feedback', outputSchema, ...options },
  );
  try {
    await sink.open(null);
  } catch (error) {
    await sink.close();
    throw error;
  }
  return sink;
}

async function withSink<T>(spec: Partial<PostgresSinkSpec>, use: (sink: ResultSink) => Promise<T>, options: Partial<PostgresSinkOptions> = {}) {
  const sink = await openSink(spec, options);
  try {
    return await use(sink);
  } finally {
    await sink.close();
  }
}

async function sinkError(spec: Partial<PostgresSinkSpec>, options: Partial<PostgresSinkOptions> = {}): Promise<string> {
  try {
    const sink = await openSink(spec, options);
    await sink.close();
  } catch (error) {
    assert.ok(error instanceof SinkError, `expected a SinkError, got ${String(error)}`);
    return error.message;
  }
  return assert.fail('opening the sink should have failed');
}

async function columnTypes(table: string): Promise<Record<string, string>> {
  const rows = await sql(
    `SELECT attname AS name, format_type(atttypid, NULL) AS type FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [table],
  );
  return Object.fromEntries(rows.map((entry) => [String(entry.name), String(entry.type)]));
}

before(async () => {
  await requirePostgres();
  await sql(`CREATE SCHEMA ${schema}`);
});

after(async () => {
  await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('postgres sink: the results table', () => {
  it('creates the table with fixed columns and one typed column per output property', async () => {
    await withSink({ table: `${schema}.typed` }, async () => undefined);
    assert.deepEqual(await columnTypes(`${schema}.typed`), {
      key: 'text',
      status: 'text',
      output: 'jsonb',
      error: 'text',
      error_class: 'text',
      attempts: 'integer',
      prompt_tokens: 'integer',
      completion_tokens: 'integer',
      cost_usd: 'double precision',
      model: 'text',
      updated_at: 'timestamp with time zone',
      sentiment: 'text',
      score: 'bigint',
      confidence: 'double precision',
      flagged: 'boolean',
      summary: 'text',
      language: 'text',
      tags: 'jsonb',
      details: 'jsonb',
      // "status" is taken by the row's own status.
      output_status: 'text',
    });
    const primaryKey = await sql(
      `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = to_regclass($1) AND i.indisprimary`,
      [`${schema}.typed`],
    );
    assert.deepEqual(primaryKey, [{ name: 'key' }]);
  });

  it('names the default table after the job, in the schema the connection searches', async () => {
    const url = `${postgresUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    await withSink({ url }, async () => undefined, { jobName: 'Feedback-Sentiment.v2' });
    const tables = await sql(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'feedback%'`, [
      schema,
    ]);
    assert.deepEqual(tables, [{ name: 'feedback_sentiment_v2_results' }]);
  });

  it('works with an oddly named table', async () => {
    const table = `${schema}.Odd "Name"; --`;
    await withSink({ table }, (sink) => sink.write([row('a', answer(1)), row('b', answer(2))]));
    const rows = await sql(`SELECT key, score FROM ${schema}."Odd ""Name""; --" ORDER BY key`);
    assert.deepEqual(rows, [
      { key: 'a', score: '1' },
      { key: 'b', score: '2' },
    ]);
  });

  it('adds the columns an existing table lacks and leaves its other columns alone', async () => {
    await sql(`CREATE TABLE ${schema}.partial (key text PRIMARY KEY, status text, output jsonb, note text DEFAULT 'mine')`);
    await sql(`INSERT INTO ${schema}.partial (key, status) VALUES ('old', 'done')`);
    await withSink({ table: `${schema}.partial` }, (sink) => sink.write([row('new', answer(70))]));
    const types = await columnTypes(`${schema}.partial`);
    assert.equal(types.score, 'bigint');
    assert.equal(types.updated_at, 'timestamp with time zone');
    assert.equal(types.note, 'text');
    const rows = await sql(`SELECT key, status, score, note FROM ${schema}.partial ORDER BY key`);
    assert.deepEqual(rows, [
      { key: 'new', status: 'done', score: '70', note: 'mine' },
      { key: 'old', status: 'done', score: null, note: 'mine' },
    ]);
  });

  it('refuses an existing table whose columns have incompatible types, naming them', async () => {
    await sql(`CREATE TABLE ${schema}.clash (key text PRIMARY KEY, score text, flagged integer)`);
    const message = await sinkError({ table: `${schema}.clash` });
    assert.match(message, /^sink\.table "drover_sink_[0-9a-f]+\.clash" already exists with incompatible columns/);
    assert.match(message, /column "score" is text but needs bigint or numeric/);
    assert.match(message, /column "flagged" is integer but needs boolean/);
    assert.deepEqual(Object.keys(await columnTypes(`${schema}.clash`)).sort(), ['flagged', 'key', 'score'], 'nothing was added');
  });

  it('refuses an existing table without a unique key, and a view', async () => {
    await sql(`CREATE TABLE ${schema}.nokey (key text, status text)`);
    assert.match(await sinkError({ table: `${schema}.nokey` }), /has no primary key or unique index on column "key"/);
    await sql(`CREATE VIEW ${schema}.aview AS SELECT 'k'::text AS key`);
    assert.match(await sinkError({ table: `${schema}.aview` }), /exists but is not a table/);
  });

  it('explains a missing schema, a missing URL and a password in the URL', async () => {
    assert.match(await sinkError({ table: 'no_such_schema_for_drover.results' }), /schema "no_such_schema_for_drover" does not exist/);
    await assert.rejects(
      openPostgresSink({ type: 'postgres' }, { jobName: 'feedback', outputSchema }),
      /sink\.url: give the connection URL/,
    );
    await assert.rejects(
      openPostgresSink({ type: 'postgres', url: 'postgres://postgres:pw@127.0.0.1/test' }, { jobName: 'feedback', outputSchema }),
      /sink\.url contains a password/,
    );
  });

  it("uses the source's connection and password variable when it names none", async () => {
    const variable = `DROVER_TEST_SINK_PASSWORD_${randomBytes(4).toString('hex')}`;
    await assert.rejects(
      openPostgresSink(
        { type: 'postgres', table: `${schema}.from_source` },
        { jobName: 'feedback', outputSchema, sourceUrl: postgresUrl, sourcePasswordEnv: variable },
      ),
      new RegExp(`sink\\.passwordEnv: the environment variable "${variable}" is not set`),
    );
    const sink = await openPostgresSink(
      { type: 'postgres', table: `${schema}.from_source` },
      { jobName: 'feedback', outputSchema, sourceUrl: postgresUrl },
    );
    try {
      await sink.open(null);
      await sink.write([row('s', answer(5))]);
    } finally {
      await sink.close();
    }
    assert.deepEqual(await sql(`SELECT key FROM ${schema}.from_source`), [{ key: 's' }]);
  });
});

describe('postgres sink: writing', () => {
  const table = `${schema}.results`;

  it('upserts idempotently: one row per key, the latest write wins', async () => {
    await withSink({ table }, async (sink) => {
      const first = [row('1', answer(10)), row('2', answer(20)), row('3', null)];
      assert.equal(await sink.write(first), null, 'no checkpoint needed');
      await sink.write(first);
      await sink.write([row('2', answer(25, { sentiment: 'neutral' }), { attempts: 2 }), row('3', answer(30))]);
      // The same key twice in one batch: the later one wins, the batch does not fail.
      await sink.write([row('4', answer(40)), row('4', answer(41))]);
    });
    const rows = await sql(`SELECT key, status, sentiment, score, attempts, error, error_class FROM ${table} ORDER BY key`);
    assert.deepEqual(rows, [
      { key: '1', status: 'done', sentiment: 'positive', score: '10', attempts: 1, error: null, error_class: null },
      { key: '2', status: 'done', sentiment: 'neutral', score: '25', attempts: 2, error: null, error_class: null },
      { key: '3', status: 'done', sentiment: 'positive', score: '30', attempts: 1, error: null, error_class: null },
      { key: '4', status: 'done', sentiment: 'positive', score: '41', attempts: 1, error: null, error_class: null },
    ]);
  });

  it('fills typed columns and keeps the raw answer, tokens, cost, model and time', async () => {
    const output = {
      sentiment: 'negative',
      score: 3,
      confidence: 0.875,
      flagged: true,
      summary: null,
      language: 'ja',
      tags: ['delivery', '遅延'],
      details: { order: 'A-1' },
      status: 'escalated',
    };
    await withSink({ table: `${schema}.full` }, (sink) => sink.write([row('k1', output)]));
    const [stored] = await sql(`SELECT * FROM ${schema}.full`);
    assert.deepEqual(stored, {
      key: 'k1',
      status: 'done',
      output,
      error: null,
      error_class: null,
      attempts: 1,
      prompt_tokens: 120,
      completion_tokens: 14,
      cost_usd: 0.00012,
      model: 'gpt-4.1-mini',
      updated_at: new Date('2025-01-02T03:04:05.678Z'),
      sentiment: 'negative',
      score: '3',
      confidence: 0.875,
      flagged: true,
      summary: null,
      language: 'ja',
      tags: ['delivery', '遅延'],
      details: { order: 'A-1' },
      output_status: 'escalated',
    });
  });

  it('puts NULL in a typed column when a value does not fit, keeps it in output, and writes the rest of the batch', async () => {
    const odd = {
      sentiment: 42,
      score: 'high',
      confidence: 'very',
      flagged: 'yes',
      summary: 'nul \u0000 inside',
    };
    const huge = { sentiment: 'positive', score: 1e30 };
    await withSink({ table: `${schema}.mixed` }, (sink) => sink.write([row('good', answer(90)), row('odd', odd), row('huge', huge)]));
    const rows = await sql(`SELECT key, sentiment, score, confidence, flagged, summary, output FROM ${schema}.mixed ORDER BY key`);
    assert.deepEqual(rows, [
      { key: 'good', sentiment: 'positive', score: '90', confidence: null, flagged: null, summary: null, output: answer(90) },
      { key: 'huge', sentiment: 'positive', score: null, confidence: null, flagged: null, summary: null, output: huge },
      {
        key: 'odd',
        sentiment: null,
        score: null,
        confidence: null,
        flagged: null,
        // Postgres text cannot hold U+0000.
        summary: 'nul \uFFFD inside',
        output: { ...odd, summary: 'nul \uFFFD inside' },
      },
    ]);
  });

  it('writes a large batch in one call', async () => {
    const rows = Array.from({ length: 20_000 }, (_unused, index) => row(`k${index}`, answer(index % 101)));
    await withSink({ table: `${schema}.large` }, (sink) => sink.write(rows));
    const [summary] = await sql(`SELECT count(*)::int AS n, sum(score)::int AS total FROM ${schema}.large`);
    const total = rows.reduce((sum, entry) => sum + Number(entry.output?.score), 0);
    assert.deepEqual(summary, { n: 20_000, total });
  });
});

describe('postgres sink: connection loss', () => {
  const applicationName = `drover_test_sink_${randomBytes(4).toString('hex')}`;
  const url = `${postgresUrl}?application_name=${applicationName}`;
  const backends = async () =>
    (await sql('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName])).map((entry) => Number(entry.pid));

  it('reconnects after its idle connection is terminated between writes', async () => {
    const table = `${schema}.idle_kill`;
    await withSink({ url, table }, async (sink) => {
      await sink.write([row('1', answer(1))]);
      const killed = await backends();
      assert.equal(killed.length, 1);
      await sql('SELECT pg_terminate_backend($1)', [killed[0]]);
      await sink.write([row('2', answer(2))]);
      assert.notDeepEqual(await backends(), killed);
    });
    assert.deepEqual(await sql(`SELECT key FROM ${table} ORDER BY key`), [{ key: '1' }, { key: '2' }]);
  });

  it('writes the whole batch once when its connection is terminated in the middle of the write', async () => {
    const table = `${schema}.busy_kill`;
    await withSink({ url, table }, async (sink) => {
      await sink.write([row('0', answer(0))]);
      // Hold a lock so that the next write waits inside its statement, then kill it there.
      const locker = await admin.connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
        const batch = Array.from({ length: 50 }, (_unused, index) => row(String(index + 1), answer(index + 1)));
        const writing = sink.write(batch);
        let waiting: number[] = [];
        for (let tries = 0; tries < 500 && waiting.length === 0; tries += 1) {
          await sleep(10);
          const rows = await sql(
            `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
            [applicationName],
          );
          waiting = rows.map((entry) => Number(entry.pid));
        }
        assert.equal(waiting.length, 1, 'the write is waiting for the lock');
        await sql('SELECT pg_terminate_backend($1)', [waiting[0]]);
        await sleep(300); // the write reconnects and waits for the lock again
        await locker.query('COMMIT');
        await writing;
      } finally {
        locker.release();
      }
    });
    const [summary] = await sql(`SELECT count(*)::int AS n, count(DISTINCT key)::int AS keys, sum(score)::int AS total FROM ${table}`);
    assert.deepEqual(summary, { n: 51, keys: 51, total: (50 * 51) / 2 });
  });
});
