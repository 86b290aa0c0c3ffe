import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openPostgresSource } from '../../daemon/sources/postgresSource';
import { type RecordSource, SourceError, type SourceItem } from '../../daemon/sources/source';
import type { PostgresSourceSpec } from '../../daemon/spec/jobSpec';
import { closedPort } from '../support/ports';
import { postgresTestDb, slowQuery, sourceSpec, uniqueName, withSource } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';

const db = postgresTestDb('drover_source');
const { schema, sql, backendsOf, terminate, whenActive, createNumbered } = db;

async function readAll(source: RecordSource, options: Parameters<RecordSource['read']>[0] = {}): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.read(options)) items.push(item);
  return items;
}

/** Opening must fail with a SourceError whose message passes `check`. */
async function refusal(spec: PostgresSourceSpec): Promise<string> {
  try {
    const source = await openPostgresSource(spec);
    await source.close();
  } catch (error) {
    assert.ok(error instanceof SourceError, `expected a SourceError, got ${String(error)}`);
    assert.doesNotMatch(error.message, /\n\s+at /, 'no stack trace in the message');
    return error.message;
  }
  return assert.fail(`opening ${JSON.stringify(spec.query ?? spec.table)} should have failed`);
}

const keysOf = (items: SourceItem[]) => items.map((item) => item.key);

before(() => db.setUp());
after(() => db.tearDown());

describe('postgres source: keyset streaming', () => {
  it('streams a table with gaps in its keys in key order, across many pages', async () => {
    await sql(`CREATE TABLE ${schema}.gaps (id integer PRIMARY KEY, text text)`);
    await sql(`INSERT INTO ${schema}.gaps SELECT g, 'row ' || g FROM generate_series(1, 1000) g WHERE g % 7 <> 0 AND g % 13 <> 0`);
    const expected = (await sql(`SELECT id FROM ${schema}.gaps ORDER BY id`)).map((row) => String(row.id));

    const items = await withSource(sourceSpec({ table: `${schema}.gaps`, pageSize: 37 }), readAll);
    assert.deepEqual(keysOf(items), expected);
    assert.deepEqual(
      items.map((item) => item.ordinal),
      expected.map((_key, index) => index + 1),
    );
    const first = items[0];
    assert.ok(first?.kind === 'record');
    assert.deepEqual(first.fields, { id: 1, text: 'row 1' });
  });

  it('streams text keys in the server collation order and resumes right after a cursor', async () => {
    await sql(`CREATE TABLE ${schema}.words (code text PRIMARY KEY, n integer)`);
    const codes = ['b', 'B', 'a', 'ab', 'A-1', 'a 2', 'Zeta', 'zeta', 'ärger', 'éclair', '日本', '10', '9', 'x"y', "it's"];
    await sql(`INSERT INTO ${schema}.words SELECT code, ordinality FROM unnest($1::text[]) WITH ORDINALITY AS u(code, ordinality)`, [codes]);
    const expected = (await sql(`SELECT code FROM ${schema}.words ORDER BY code`)).map((row) => String(row.code));

    const spec = sourceSpec({ query: `SELECT code, n FROM ${schema}.words`, key: 'code', pageSize: 4 });
    await withSource(spec, async (source) => {
      const items = await readAll(source);
      assert.deepEqual(keysOf(items), expected);
      const cursor = items[5]?.cursor;
      assert.ok(cursor);
      const resumed = await readAll(source, { after: JSON.parse(JSON.stringify(cursor)) as typeof cursor });
      assert.deepEqual(keysOf(resumed), expected.slice(6));
      assert.deepEqual(
        resumed.map((item) => item.ordinal),
        expected.slice(6).map((_key, index) => index + 7),
      );
    });
  });

  it('keeps bigint keys above 2^53 exact, in order and resumable', async () => {
    await sql(`CREATE TABLE ${schema}.big (id bigint PRIMARY KEY, text text)`);
    const base = 2n ** 53n - 3n;
    const ids = Array.from({ length: 12 }, (_unused, index) => (base + BigInt(index)).toString());
    await sql(`INSERT INTO ${schema}.big SELECT id, 'big' FROM unnest($1::bigint[]) AS id`, [ids]);

    await withSource(sourceSpec({ table: `${schema}.big`, pageSize: 3 }), async (source) => {
      const items = await readAll(source);
      assert.deepEqual(keysOf(items), ids);
      const cursor = items[6]?.cursor;
      assert.ok(cursor);
      assert.equal(typeof cursor.key, 'string', 'a bigint key stays a string so JSON cannot round it');
      const resumed = await readAll(source, { after: JSON.parse(JSON.stringify(cursor)) as typeof cursor });
      assert.deepEqual(keysOf(resumed), ids.slice(7));
    });
  });

  it('orders uuid keys and timestamp keys that differ by a microsecond, and resumes on them', async () => {
    await sql(`CREATE TABLE ${schema}.events (id uuid PRIMARY KEY, at timestamp NOT NULL UNIQUE, at_tz timestamptz NOT NULL UNIQUE)`);
    await sql(
      `INSERT INTO ${schema}.events
       SELECT md5(g::text)::uuid, timestamp '2024-03-01 12:00:00' + g * interval '1 microsecond',
              timestamptz '2024-03-01 12:00:00+09' + g * interval '1 microsecond'
         FROM generate_series(1, 50) g`,
    );
    for (const key of ['id', 'at', 'at_tz']) {
      const expected = (await sql(`SELECT ${key}::text AS k FROM ${schema}.events ORDER BY ${key}`)).map((row) => String(row.k));
      await withSource(sourceSpec({ table: `${schema}.events`, key, pageSize: 7 }), async (source) => {
        const items = await readAll(source);
        assert.equal(items.length, 50, key);
        assert.equal(new Set(keysOf(items)).size, 50, `${key}: every key once`);
        const cursor = items[19]?.cursor;
        assert.ok(cursor);
        const resumed = await readAll(source, { after: JSON.parse(JSON.stringify(cursor)) as typeof cursor });
        assert.deepEqual([...keysOf(items).slice(0, 20), ...keysOf(resumed)], keysOf(items), `${key}: resume continues right after`);
        assert.deepEqual(keysOf(items), expected, `${key}: in the server's order`);
      });
    }
  });

  it('turns NULL and repeated keys into failed items, fresh and on resume', async () => {
    await sql(`CREATE TABLE ${schema}.dupes (id integer, text text)`);
    await sql(`INSERT INTO ${schema}.dupes VALUES (NULL, 'n1'), (2, 'two-a'), (1, 'one'), (NULL, 'n2'), (2, 'two-b'), (3, 'three'), (2, 'two-c')`);
    await withSource(sourceSpec({ table: `${schema}.dupes`, pageSize: 2 }), async (source) => {
      const items = await readAll(source);
      assert.deepEqual(
        items.map((item) => [item.kind, item.key]),
        [
          ['malformed', 'null-key:1'],
          ['malformed', 'null-key:2'],
          ['record', '1'],
          ['record', '2'],
          ['malformed', 'duplicate:2#2'],
          ['malformed', 'duplicate:2#3'],
          ['record', '3'],
        ],
      );
      const malformed = items.find((item) => item.kind === 'malformed' && item.key.startsWith('duplicate'));
      assert.ok(malformed?.kind === 'malformed');
      assert.match(malformed.reason, /appears more than once/);

      const recordTwo = items[3];
      assert.ok(recordTwo);
      const resumed = await readAll(source, { after: recordTwo.cursor });
      assert.deepEqual(
        resumed.map((item) => [item.kind, item.key]),
        [
          ['malformed', 'duplicate:2#2'],
          ['malformed', 'duplicate:2#3'],
          ['record', '3'],
        ],
      );
    });
  });

  it('reads an oddly named table through an oddly named key column', async () => {
    const table = 'Odd "Name"; --';
    await sql(`CREATE TABLE ${schema}."Odd ""Name""; --" ("Key ""k""" integer PRIMARY KEY, "select" text)`);
    await sql(`INSERT INTO ${schema}."Odd ""Name""; --" SELECT g, 'v' || g FROM generate_series(1, 9) g`);
    const items = await withSource(sourceSpec({ table: `${schema}.${table}`, key: 'Key "k"', pageSize: 4 }), readAll);
    assert.deepEqual(keysOf(items), ['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const last = items[8];
    assert.ok(last?.kind === 'record');
    assert.equal(last.fields.select, 'v9');
  });
});

describe('postgres source: refusals and errors', () => {
  before(async () => {
    await sql(`CREATE TABLE ${schema}.victim (id integer PRIMARY KEY, text text)`);
    await sql(`INSERT INTO ${schema}.victim SELECT g, 'keep me' FROM generate_series(1, 20) g`);
    await sql(
      `CREATE FUNCTION ${schema}.sneaky_delete() RETURNS integer LANGUAGE sql AS $$ DELETE FROM ${schema}.victim; SELECT 1 $$`,
    );
  });

  after(async () => {
    const rows = await sql(`SELECT count(*)::int AS n FROM ${schema}.victim`);
    assert.equal(rows[0]?.n, 20, 'no refused statement changed the table');
  });

  const victim = `${schema}.victim`;
  const dataModifying = [
    `DELETE FROM ${victim}`,
    `SELECT 1 AS id; DELETE FROM ${victim}`,
    `WITH d AS (DELETE FROM ${victim} RETURNING *) SELECT * FROM d`,
    `INSERT INTO ${victim} VALUES (99, 'new') RETURNING *`,
    `UPDATE ${victim} SET text = 'changed' RETURNING *`,
    // Under the simple query protocol this would end the read-only transaction and delete.
    `SELECT 1 AS id) AS x; COMMIT; DELETE FROM ${victim}; SELECT * FROM (SELECT 1 AS id`,
  ];
  for (const query of dataModifying) {
    it(`refuses ${query}`, async () => {
      const message = await refusal(sourceSpec({ query }));
      assert.match(message, /^source\.query/);
      assert.equal((await sql(`SELECT count(*)::int AS n FROM ${victim}`))[0]?.n, 20);
    });
  }

  it('runs every read in a READ ONLY transaction, so a writing function fails the read', async () => {
    await withSource(sourceSpec({ query: `SELECT id, ${schema}.sneaky_delete() AS gone FROM ${victim}` }), async (source) => {
      await assert.rejects(readAll(source), (error: unknown) => {
        assert.ok(error instanceof SourceError);
        assert.match(error.message, /^source\.query: cannot execute DELETE in a read-only transaction/);
        return true;
      });
    });
  });

  it('treats a table name full of SQL as a name that does not exist', async () => {
    const message = await refusal(sourceSpec({ table: `x"; DROP TABLE ${victim}; --` }));
    assert.match(message, /^source\.table: no table or view "x"; DROP TABLE/);
    assert.ok(message.includes(`${schema}.victim`), 'lists the tables that do exist');
  });

  it('reports a syntax error with the line and column in the user query', async () => {
    const query = `SELECT * FORM ${victim}`;
    const message = await refusal(sourceSpec({ query }));
    assert.equal(message, `source.query: syntax error at or near "FORM" (line 1, column ${query.indexOf('FORM') + 1})`);
  });

  it('maps positions on later lines and after characters outside the BMP', async () => {
    const firstLine = "SELECT '🙂 日本' AS label,";
    const query = `${firstLine}\n       id, nme\n  FROM ${victim}`;
    const message = await refusal(sourceSpec({ query }));
    const column = '       id, '.length + 1;
    assert.equal(message, `source.query: column "nme" does not exist (line 2, column ${column})`);

    const sameLine = `SELECT '🙂🙂' AS label, nme FROM ${victim}`;
    const sameLineMessage = await refusal(sourceSpec({ query: sameLine }));
    const codePointColumn = Array.from(sameLine.slice(0, sameLine.indexOf('nme'))).length + 1;
    assert.match(sameLineMessage, new RegExp(`\\(line 1, column ${codePointColumn}\\)`));
  });

  it('accepts a trailing semicolon and a trailing comment', async () => {
    const items = await withSource(sourceSpec({ query: `SELECT id FROM ${victim} WHERE id <= 3 ;\n` }), readAll);
    assert.deepEqual(keysOf(items), ['1', '2', '3']);
    const commented = await withSource(sourceSpec({ query: `SELECT id FROM ${victim} WHERE id <= 2 -- trailing comment` }), readAll);
    assert.deepEqual(keysOf(commented), ['1', '2']);
  });

  it('names the missing key column and lists the columns there are', async () => {
    const message = await refusal(sourceSpec({ query: `SELECT id AS ident, text FROM ${victim}` }));
    assert.equal(message, 'source.key: there is no column "id" in the query; its columns are: ident, text');
  });

  it('refuses a key column whose type cannot order a resumable read', async () => {
    const message = await refusal(sourceSpec({ query: `SELECT decode('00', 'hex') AS id` }));
    assert.match(message, /^source\.key: column "id" has type bytea/);
  });

  it('refuses a password in the URL without repeating it, and names a missing password variable', async () => {
    const message = await refusal(sourceSpec({ url: 'postgres://postgres:hunter2@127.0.0.1:5432/test', table: victim }));
    assert.match(message, /source\.url contains a password.*source\.passwordEnv/);
    assert.doesNotMatch(message, /hunter2/);

    const variable = uniqueName('DROVER_TEST_MISSING_PASSWORD');
    const missing = await refusal(sourceSpec({ passwordEnv: variable, table: victim }));
    assert.match(missing, new RegExp(`source\\.passwordEnv: the environment variable "${variable}" is not set`));
  });

  it('takes the password from the named variable and never shows it', async () => {
    const variable = uniqueName('DROVER_TEST_PASSWORD');
    process.env[variable] = 'not-needed-with-trust-auth-s3cret';
    try {
      await withSource(sourceSpec({ passwordEnv: variable, table: victim }), async (source) => {
        assert.doesNotMatch(source.description, /s3cret/);
        assert.equal((await readAll(source)).length, 20);
      });
    } finally {
      delete process.env[variable];
    }
  });

  it('fails at once, with the address, when the server cannot be reached', async () => {
    const port = await closedPort();
    const started = Date.now();
    const message = await refusal(sourceSpec({ url: `postgres://postgres@127.0.0.1:${port}/test`, table: victim }));
    assert.match(message, new RegExp(`^source\\.url: cannot connect to postgres@127\\.0\\.0\\.1:${port}/test: .*ECONNREFUSED`));
    assert.ok(Date.now() - started < 10_000, 'no reconnect loop before the first connection');
  });
});

describe('postgres source: count and sample', () => {
  before(async () => {
    await sql(`CREATE TABLE ${schema}.medium (id integer PRIMARY KEY, text text)`);
    await sql(`INSERT INTO ${schema}.medium SELECT g, 'text ' || g FROM generate_series(1, 5000) g`);
    await sql(`CREATE TABLE ${schema}.large (id integer PRIMARY KEY)`);
    await sql(`INSERT INTO ${schema}.large SELECT generate_series(1, 1100000)`);
    await sql(`ANALYZE ${schema}.large`);
  });

  it('counts a small table and a query exactly', async () => {
    assert.deepEqual(await withSource(sourceSpec({ table: `${schema}.medium` }), (source) => source.count()), { total: 5000, exact: true });
    const query = `SELECT * FROM ${schema}.medium WHERE id % 3 = 0`;
    assert.deepEqual(await withSource(sourceSpec({ query }), (source) => source.count()), { total: 1666, exact: true });
  });

  it("uses the planner's estimate for a large table", async () => {
    const count = await withSource(sourceSpec({ table: `${schema}.large` }), (source) => source.count());
    assert.equal(count.exact, false);
    assert.ok(Math.abs(count.total - 1_100_000) < 110_000, `estimate ${count.total} within 10%`);
  });

  it('falls back to an estimate when counting a query outlasts the statement timeout', async () => {
    const query = `SELECT l.id FROM ${schema}.large l, pg_sleep(1) AS pause`;
    const count = await withSource(sourceSpec({ query, statementTimeoutMs: 200 }), (source) => source.count());
    assert.equal(count.exact, false);
    assert.ok(count.total > 100_000, `estimate ${count.total}`);
  });

  async function sampleKeys(spec: PostgresSourceSpec, size: number): Promise<number[]> {
    return withSource(spec, async (source) => {
      const keys: number[] = [];
      const sample = source.sample?.(size);
      assert.ok(sample, 'a Postgres source can sample');
      for await (const record of sample) keys.push(Number(record.key));
      return keys;
    });
  }

  it('samples about n records spread over a table, a query and a large table', async () => {
    const cases = [
      { spec: sourceSpec({ table: `${schema}.medium` }), size: 500, max: 5000 },
      { spec: sourceSpec({ query: `SELECT * FROM ${schema}.medium` }), size: 500, max: 5000 },
      { spec: sourceSpec({ table: `${schema}.large` }), size: 2000, max: 1_100_000 },
    ];
    for (const { spec, size, max } of cases) {
      const keys = await sampleKeys(spec, size);
      const label = spec.table ?? spec.query;
      assert.ok(keys.length > size * 0.6 && keys.length <= size, `${label}: ${keys.length} records for ${size}`);
      assert.equal(new Set(keys).size, keys.length, `${label}: no record twice`);
      const inTopHalf = keys.filter((key) => key > max / 2).length;
      assert.ok(inTopHalf > keys.length * 0.3 && inTopHalf < keys.length * 0.7, `${label}: spread over the keys`);
    }
  });
});

describe('postgres source: connection loss', () => {
  it('carries on after pg_terminate_backend of the reading connection, every row exactly once', async () => {
    const expected = await createNumbered(`${schema}.killme`, 2000);
    const applicationName = uniqueName('drover_test_kill');
    const spec = sourceSpec({ url: `${postgresUrl}?application_name=${applicationName}`, query: slowQuery(`${schema}.killme`), pageSize: 200 });

    const kills: Promise<number>[] = [];
    let killedIdle = 0;
    const keys = await withSource(spec, async (source) => {
      const seen: string[] = [];
      for await (const item of source.read()) {
        seen.push(item.key);
        if (seen.length === 250 || seen.length === 900) {
          // The next page read starts when this loop asks for more; kill it while it runs.
          kills.push(whenActive(applicationName).then(async (pids) => (await terminate(pids), pids.length)));
        }
        if (seen.length === 1300) {
          // Between pages: the idle pooled connection dies while nobody is using it.
          const idle = await backendsOf(applicationName, 'idle');
          await terminate(idle);
          killedIdle += idle.length;
        }
      }
      return seen;
    });
    const killedActive = (await Promise.all(kills)).reduce((sum, count) => sum + count, 0);
    assert.ok(killedActive >= 2, `running page reads were terminated (${killedActive})`);
    assert.ok(killedIdle >= 1, 'an idle connection was terminated');
    assert.deepEqual(keys, expected, 'every row once, in order');
  });
});
