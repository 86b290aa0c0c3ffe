// Tools for tests against the real Postgres: a schema of their own, an admin pool, and ways
// to find, interrupt and restart the server's backends.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { openPostgresSource } from '../../daemon/sources/postgresSource';
import type { RecordSource } from '../../daemon/sources/source';
import { type PostgresSourceSpec, postgresSourceSchema } from '../../daemon/spec/jobSpec';
import { postgresUrl, requirePostgres } from './services';

const run = promisify(execFile);

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

export interface PostgresTestDb {
  schema: string;
  sql: (text: string, values?: unknown[]) => Promise<Record<string, unknown>[]>;
  /** The server backends a source or sink opened with this application_name. */
  backendsOf: (applicationName: string, state?: string) => Promise<number[]>;
  terminate: (pids: number[]) => Promise<void>;
  /** Resolves once a statement of this application is running, so it can be interrupted mid-query. */
  whenActive: (applicationName: string) => Promise<number[]>;
  /** A table of `rows` numbered rows with every fifth missing; returns the keys in order. */
  createNumbered: (table: string, rows: number) => Promise<string[]>;
  setUp: () => Promise<void>;
  tearDown: () => Promise<void>;
}

// Each page of this query takes ~150 ms (the scalar subquery runs once per execution), so a
// page read runs long enough to be interrupted in the middle.
export const slowQuery = (table: string) => `SELECT t.*, (SELECT 1 FROM pg_sleep(0.15)) AS pause FROM ${table} t`;

export function postgresTestDb(prefix: string): PostgresTestDb {
  const schema = uniqueName(prefix);
  const admin = new Pool({ connectionString: postgresUrl, max: 2 });
  // Tests close server connections on purpose; the pool replaces them.
  admin.on('error', () => undefined);
  const sql = async (text: string, values: unknown[] = []) => (await admin.query<Record<string, unknown>>(text, values)).rows;
  const backendsOf = async (applicationName: string, state?: string) =>
    (
      await sql(
        'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND ($2::text IS NULL OR state = $2) AND pid <> pg_backend_pid()',
        [applicationName, state ?? null],
      )
    ).map((row) => Number(row.pid));
  return {
    schema,
    sql,
    backendsOf,
    terminate: async (pids) => {
      for (const pid of pids) await sql('SELECT pg_terminate_backend($1)', [pid]);
    },
    whenActive: async (applicationName) => {
      for (let tries = 0; tries < 500; tries += 1) {
        const pids = await backendsOf(applicationName, 'active');
        if (pids.length > 0) return pids;
        await sleep(10);
      }
      return assert.fail(`no running statement of ${applicationName} to interrupt`);
    },
    createNumbered: async (table, rows) => {
      await sql(`CREATE TABLE ${table} (id integer PRIMARY KEY, text text)`);
      await sql(`INSERT INTO ${table} SELECT g, 'row ' || g FROM generate_series(1, $1::int) g WHERE g % 5 <> 0`, [rows]);
      return (await sql(`SELECT id FROM ${table} ORDER BY id`)).map((row) => String(row.id));
    },
    setUp: async () => {
      await requirePostgres();
      await sql(`CREATE SCHEMA ${schema}`);
    },
    tearDown: async () => {
      await waitForPostgres();
      await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

const clusterVersion = () => readdirSync('/etc/postgresql')[0] ?? '15';

/** Restarts the local server (these tests run as root on a machine of their own). */
export const restartPostgres = () => run('pg_ctlcluster', ['--skip-systemctl-redirect', clusterVersion(), 'main', 'restart']);
export const stopPostgres = () => run('pg_ctlcluster', ['--skip-systemctl-redirect', clusterVersion(), 'main', 'stop']);
export const startPostgres = () => run('pg_ctlcluster', ['--skip-systemctl-redirect', clusterVersion(), 'main', 'start']);

export async function waitForPostgres(): Promise<void> {
  for (let tries = 0; tries < 120; tries += 1) {
    const ready = await run('pg_isready', ['-h', '127.0.0.1', '-p', '5432']).then(
      () => true,
      () => false,
    );
    if (ready) return;
    if (tries === 20) await startPostgres().catch(() => undefined);
    await sleep(500);
  }
  assert.fail('Postgres did not come back');
}

export const sourceSpec = (fields: Partial<PostgresSourceSpec>): PostgresSourceSpec =>
  postgresSourceSchema.parse({ type: 'postgres', url: postgresUrl, statementTimeoutMs: 30_000, ...fields });

export async function withSource<T>(spec: PostgresSourceSpec, use: (source: RecordSource) => Promise<T>): Promise<T> {
  const source = await openPostgresSource(spec);
  try {
    return await use(source);
  } finally {
    await source.close();
  }
}
