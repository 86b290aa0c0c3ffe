// The tables of the shared Postgres ledger, created idempotently in the ledger's schema by
// whichever worker comes first: one row per job and one per record, keyed by job, and the
// sequence fencing tokens are drawn from.
import type { PoolClient } from 'pg';
import { quoteIdentifier } from '../sql/identifiers';

export interface SharedTables {
  jobs: string;
  records: string;
  fences: string;
}

export function sharedTables(schema: string): SharedTables {
  const name = (table: string) => `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
  return { jobs: name('jobs'), records: name('records'), fences: name('fences') };
}

export async function createSharedTables(client: PoolClient, schema: string): Promise<void> {
  const tables = sharedTables(schema);
  await client.query('BEGIN');
  // Workers starting together would race on CREATE … IF NOT EXISTS (it is not atomic).
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`drover ledger schema ${schema}`]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
  await client.query(`CREATE SEQUENCE IF NOT EXISTS ${tables.fences}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${tables.jobs} (
    name text PRIMARY KEY,
    spec_json text NOT NULL,
    config_hash text NOT NULL,
    status text NOT NULL,
    status_reason text,
    loaded boolean NOT NULL DEFAULT false,
    loader_cursor jsonb,
    total bigint,
    requests bigint NOT NULL DEFAULT 0,
    retries bigint NOT NULL DEFAULT 0,
    rate_limited bigint NOT NULL DEFAULT 0,
    prompt_tokens bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost_usd double precision NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now())`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${tables.records} (
    job text NOT NULL,
    key text NOT NULL,
    ordinal bigint NOT NULL,
    fields jsonb,
    malformed text,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    input_hash text,
    lease_owner text,
    lease_until timestamptz,
    fence bigint,
    committed_by text,
    output jsonb,
    error text,
    error_class text,
    prompt_tokens bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost_usd double precision NOT NULL DEFAULT 0,
    model text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, key))`);
  // Claims walk the pending records of a job in source order.
  await client.query(
    `CREATE INDEX IF NOT EXISTS records_pending ON ${tables.records} (job, ordinal) WHERE status = 'pending'`,
  );
  await client.query('COMMIT');
}
