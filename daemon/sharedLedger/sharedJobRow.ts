// The shared job's row and its record counts, read into the JobRow shape the progress
// tracker and the daemon's listings already speak.
import type { Pool } from 'pg';
import type { JobRow } from '../ledger/ledger';
import type { SharedTables } from './sharedSchema';

interface JobDbRow {
  name: string;
  spec_json: string;
  config_hash: string;
  status: JobRow['status'];
  status_reason: string | null;
  total: string | null;
  loaded: boolean;
  requests: string;
  retries: string;
  rate_limited: string;
  prompt_tokens: string;
  completion_tokens: string;
  cost_usd: number;
  created_at: string;
  updated_at: string;
}

export async function readSharedJob(pool: Pool, tables: SharedTables, jobName: string): Promise<{ job: JobRow | undefined; counts: { done: number; failed: number } }> {
  const { rows } = await pool.query<JobDbRow>(
    `SELECT name, spec_json, config_hash, status, status_reason, total, loaded, requests, retries, rate_limited,
            prompt_tokens, completion_tokens, cost_usd, to_json(created_at) #>> '{}' AS created_at,
            to_json(updated_at) #>> '{}' AS updated_at
       FROM ${tables.jobs} WHERE name = $1`,
    [jobName],
  );
  const counted = await pool.query<{ status: string; n: string }>(
    `SELECT status, count(*) AS n FROM ${tables.records} WHERE job = $1 AND status <> 'pending' GROUP BY status`,
    [jobName],
  );
  const count = (status: string) => Number(counted.rows.find((row) => row.status === status)?.n ?? 0);
  const row = rows[0];
  const job: JobRow | undefined = row && {
    name: row.name,
    specJson: row.spec_json,
    configHash: row.config_hash,
    status: row.status,
    statusReason: row.status_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    // A shared job resumes from its records' states, not from a watermark or sink checkpoint.
    watermark: null,
    watermarkConfigHash: null,
    sinkSeq: 0,
    sinkCheckpoint: null,
    total: row.total === null ? null : Number(row.total),
    totalExact: row.loaded,
    elapsedMs: 0,
    requests: Number(row.requests),
    retries: Number(row.retries),
    rateLimited: Number(row.rate_limited),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    costUsd: row.cost_usd,
  };
  return { job, counts: { done: count('done'), failed: count('failed') } };
}
