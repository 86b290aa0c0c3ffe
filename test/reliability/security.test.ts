// The engine's side of security, end to end through `drover run`: names and queries from a
// spec can never run SQL of their own or write through a source, and the API key ends up in
// no file, no log and no ledger row — not even when a provider echoes it back.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import { runCli } from '../support/cli';
import { postgresTestDb } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';
import { startScriptedProvider } from './scriptedProvider';

const pg = postgresTestDb('drover_security');
const injection = (table: string) => `x"; DROP TABLE ${table}; --`;
let mock: MockLlmServer;
let dir: string;
let jobs = 0;

before(async () => {
  await pg.setUp();
  mock = await startMockLlm({});
  dir = await mkdtemp(join(tmpdir(), 'drover-security-'));
  await pg.sql(`CREATE TABLE ${pg.schema}.t (id integer PRIMARY KEY, text text NOT NULL)`);
  await pg.sql(`INSERT INTO ${pg.schema}.t SELECT g, 'row ' || g FROM generate_series(1, 20) g`);
  await pg.sql(`CREATE FUNCTION ${pg.schema}.evil() RETURNS integer LANGUAGE sql AS 'DELETE FROM ${pg.schema}.t; SELECT 1'`);
});

after(async () => {
  await mock.close();
  await rm(dir, { recursive: true, force: true });
  await pg.tearDown();
});

async function run(source: Record<string, unknown>, extra: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  jobs += 1;
  const spec = join(dir, `job-${jobs}.drover.json`);
  await writeFile(spec, JSON.stringify({ name: `job-${jobs}`, source, prompt: { template: '{{text}}' }, provider: { baseUrl: mock.url }, ...extra }));
  return runCli(['run', spec, '--json', '--state-dir', join(dir, 'state')], env);
}

function sqliteWithTable(name: string): string {
  const path = join(dir, `${name}.db`);
  const db = new Database(path);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO t (id, text) VALUES (?, ?)');
  for (let id = 1; id <= 20; id += 1) insert.run(id, `row ${id}`);
  db.close();
  return path;
}

const fileHash = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
const sqliteRows = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  } finally {
    db.close();
  }
};
const postgresRows = async () => Number((await pg.sql(`SELECT count(*) AS n FROM ${pg.schema}.t`))[0]?.n);

describe('security: SQL from a spec', () => {
  it('SQLite: a source table named like an injection is a name that does not exist; t is untouched', async () => {
    const path = sqliteWithTable('source-name');
    const before = await fileHash(path);
    const result = await run({ type: 'sqlite', path, table: injection('t') });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /source\.table: there is no table or view "x\\"; DROP TABLE t; --"/);
    assert.equal(await fileHash(path), before, 'the database file is byte for byte the same');
  });

  it('SQLite: a sink table named like an injection is created under exactly that name; t is untouched', async () => {
    const path = sqliteWithTable('sink-name');
    const result = await run({ type: 'sqlite', path, table: 't' }, { sink: { type: 'sqlite', table: injection('t') } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(sqliteRows(path), 20);
    const db = new Database(path, { readonly: true });
    try {
      assert.deepEqual(db.prepare(`SELECT count(*) AS n FROM "${injection('t').replaceAll('"', '""')}"`).get(), { n: 20 });
    } finally {
      db.close();
    }
  });

  for (const query of [
    'SELECT 1; DELETE FROM t',
    'SELECT id, text FROM t; DROP TABLE t',
    'DELETE FROM t RETURNING id, text',
    "INSERT INTO t (id, text) VALUES (99, 'x') RETURNING id, text",
    'WITH gone AS (SELECT 1) DELETE FROM t',
    `VACUUM INTO '${join(tmpdir(), 'drover-vacuum-copy.db')}'`,
    `ATTACH DATABASE '${join(tmpdir(), 'drover-attached.db')}' AS other`,
    'PRAGMA writable_schema = ON',
  ]) {
    it(`SQLite: refuses ${JSON.stringify(query)} before reading anything; the file is unchanged`, async () => {
      const path = sqliteWithTable(`query-${jobs}`);
      const before = await fileHash(path);
      const result = await run({ type: 'sqlite', path, query, key: 'id' });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /source\.query must be exactly one SELECT statement/);
      assert.equal(await fileHash(path), before);
    });
  }

  it('Postgres: a source table named like an injection does not exist; a sink table of that name is quoted; t is untouched', async () => {
    const url = `${postgresUrl}?options=-c%20search_path%3D${pg.schema}`;
    const source = await run({ type: 'postgres', url, table: injection('t') });
    assert.equal(source.code, 2, source.stderr);
    assert.match(source.stderr, /source\.table: no table or view "x"; DROP TABLE t; --"/);
    const sink = await run({ type: 'postgres', url, table: 't' }, { sink: { type: 'postgres', table: injection('t') } });
    assert.equal(sink.code, 0, sink.stderr);
    assert.equal(await postgresRows(), 20);
    const created = await pg.sql(`SELECT count(*) AS n FROM ${pg.schema}."${injection('t').replaceAll('"', '""')}"`);
    assert.equal(Number(created[0]?.n), 20);
  });

  for (const query of [
    (schema: string) => `SELECT 1; DELETE FROM ${schema}.t`,
    (schema: string) => `DELETE FROM ${schema}.t RETURNING id, text`,
    (schema: string) => `WITH gone AS (DELETE FROM ${schema}.t RETURNING id, text) SELECT * FROM gone`,
  ]) {
    it(`Postgres: refuses ${JSON.stringify(query('s'))}; t is untouched`, async () => {
      const result = await run({ type: 'postgres', url: postgresUrl, query: query(pg.schema), key: 'id' });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /source\.query/);
      assert.equal(await postgresRows(), 20);
    });
  }

  it('Postgres: a SELECT that calls a writing function cannot write (every read is READ ONLY); t is untouched', async () => {
    const result = await run({ type: 'postgres', url: postgresUrl, query: `SELECT id, text, ${pg.schema}.evil() AS x FROM ${pg.schema}.t`, key: 'id' });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr + result.stdout, /cannot execute DELETE in a read-only transaction/);
    assert.equal(await postgresRows(), 20);
  });
});

async function filesUnder(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

async function assertKeyNowhere(key: string, stateDir: string, extraFiles: string[], outputs: string[]): Promise<void> {
  const needle = Buffer.from(key);
  const files = [...(await filesUnder(stateDir)), ...extraFiles];
  assert.ok(files.some((file) => file.endsWith('ledger.sqlite')), files.join('\n'));
  for (const file of files) assert.equal((await readFile(file)).indexOf(needle), -1, `the key is in ${file}`);
  for (const output of outputs) assert.ok(!output.includes(key), 'the key is in the command output');
}

describe('security: the API key', () => {
  const key = 'drv-live-7Hq2Xk9ZpL4mN8vR3tW6yB1c';

  it('is in no file under the state dir, not in the sink and not in the output, even when the provider echoes it in errors', async () => {
    const provider = await startScriptedProvider((call, response, scripted) => {
      const presented = call.headers.authorization ?? '';
      if (presented !== `Bearer ${key}`) return scripted.error(response, 401, { message: `Incorrect API key provided: ${presented}` });
      // A proxy that echoes the request headers in its error page, now and then.
      if (call.index % 3 === 0) return scripted.error(response, 502, { message: `upstream failed; request headers: authorization=${presented}`, type: 'server_error' });
      scripted.answer(call, response);
    });
    try {
      const path = sqliteWithTable('key-ok');
      const stateDir = join(dir, 'key-state');
      const spec = join(dir, 'key-ok.drover.json');
      await writeFile(spec, JSON.stringify({
        name: 'key-ok',
        source: { type: 'sqlite', path, table: 't' },
        prompt: { template: '{{text}}' },
        provider: { baseUrl: provider.url, apiKeyEnv: 'DROVER_TEST_SECRET_KEY' },
        batching: { recordsPerRequest: 5 },
        retry: { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 20 },
        sink: { type: 'jsonl', path: 'key-ok.jsonl' },
      }));
      const result = await runCli(['run', spec, '--json', '--state-dir', stateDir], { DROVER_TEST_SECRET_KEY: key });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(provider.calls.some((call) => call.index % 3 === 0), 'the echoing errors happened');
      await assertKeyNowhere(key, stateDir, [join(dir, 'key-ok.jsonl')], [result.stdout, result.stderr]);

      // The same provider refusing a wrong key, echoing it whole: a 401 pauses the job with its message.
      const wrong = `${key}-wrong`;
      const refusedSpec = join(dir, 'key-wrong.drover.json');
      const okSpec = JSON.parse(await readFile(spec, 'utf8')) as Record<string, unknown>;
      await writeFile(refusedSpec, JSON.stringify({ ...okSpec, name: 'key-wrong', sink: { type: 'jsonl', path: 'key-wrong.jsonl' } }));
      const refused = await runCli(['run', refusedSpec, '--json', '--state-dir', stateDir], { DROVER_TEST_SECRET_KEY: wrong });
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stdout, /rejected the API key \(401\)/);
      await assertKeyNowhere(wrong, stateDir, [], [refused.stdout, refused.stderr]);
    } finally {
      await provider.close();
    }
  });
});
