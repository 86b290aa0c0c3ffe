// What Run Analysis lists of a database — tables, a table's columns, a query's columns —
// read through a real daemon (source.preview over the catalogue) from a real SQLite file
// and the real Postgres, under node's test runner.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { DaemonClient } from '../../daemon/daemonClient/daemonClient';
import { isTextColumn, listColumns, listTables, queryColumns } from '../../extension/runAnalysis/sourceCatalog';
import { postgresTestDb } from '../support/postgresTesting';
import { postgresUrl } from '../support/services';
import { startDaemon, type RunningDaemon } from '../support/daemonHarness';

describe('sourceCatalog through the daemon', () => {
  let scratch: string;
  let daemon: RunningDaemon;
  let client: DaemonClient;
  let sqlitePath: string;
  const pg = postgresTestDb('catalog');

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-catalog-'));
    sqlitePath = join(scratch, 'shop.db');
    const db = new Database(sqlitePath);
    db.exec(`CREATE TABLE reviews (review_id INTEGER PRIMARY KEY, body TEXT NOT NULL, stars INTEGER);
             CREATE TABLE "odd 'name'" (id INTEGER PRIMARY KEY, note TEXT);
             CREATE VIEW good AS SELECT * FROM reviews WHERE stars >= 4;
             INSERT INTO reviews VALUES (1, 'great', 5), (2, 'bad', 1);`);
    db.close();
    await pg.setUp();
    await pg.sql(`CREATE TABLE ${pg.schema}.tickets (ticket_no bigint PRIMARY KEY, subject varchar(200), opened timestamptz)`);
    daemon = await startDaemon(join(scratch, 'home'));
    client = await daemon.connect();
  });

  after(async () => {
    await client?.close();
    await daemon?.stop();
    await pg.tearDown();
    await rm(scratch, { recursive: true, force: true });
  });

  it('lists a SQLite file\'s tables and views, odd names included', async () => {
    const tables = await listTables(client, { type: 'sqlite', path: sqlitePath });
    assert.deepEqual(tables.sort(), ['good', "odd 'name'", 'reviews']);
  });

  it('lists a SQLite table\'s columns in their declared order with their types', async () => {
    const columns = await listColumns(client, { type: 'sqlite', path: sqlitePath }, 'reviews');
    assert.deepEqual(columns, [
      { name: 'review_id', type: 'INTEGER' },
      { name: 'body', type: 'TEXT' },
      { name: 'stars', type: 'INTEGER' },
    ]);
    assert.deepEqual(columns.filter(isTextColumn).map((column) => column.name), ['body']);
    assert.deepEqual(
      (await listColumns(client, { type: 'sqlite', path: sqlitePath }, "odd 'name'")).map((column) => column.name),
      ['id', 'note'],
    );
  });

  it('reads a query\'s columns from its first row', async () => {
    const columns = await queryColumns(client, { type: 'sqlite', path: sqlitePath }, 'SELECT review_id, upper(body) AS shout FROM reviews;');
    assert.deepEqual(columns, [
      { name: 'review_id', type: 'number' },
      { name: 'shout', type: 'text' },
    ]);
  });

  it('lists Postgres tables by schema and their columns', async () => {
    const source = { type: 'postgres' as const, url: postgresUrl };
    const tables = await listTables(client, source);
    assert.ok(tables.includes(`${pg.schema}.tickets`), `${pg.schema}.tickets should be listed`);
    const columns = await listColumns(client, source, `${pg.schema}.tickets`);
    assert.deepEqual(columns, [
      { name: 'ticket_no', type: 'bigint' },
      { name: 'subject', type: 'character varying' },
      { name: 'opened', type: 'timestamp with time zone' },
    ]);
    assert.deepEqual(columns.filter(isTextColumn).map((column) => column.name), ['subject']);
  });

  it('answers with the source\'s own error for a database that is not there', async () => {
    await assert.rejects(listTables(client, { type: 'sqlite', path: join(scratch, 'missing.db') }), /does not exist/);
  });
});
