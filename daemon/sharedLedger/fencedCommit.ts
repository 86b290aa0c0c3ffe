// One batch's outcomes committed to the shared ledger in one transaction: the records'
// new state, their rows in the results table and the job's totals. Every record update is
// guarded by the fencing token of this worker's claim; when any record no longer carries
// it (the lease expired and another worker claimed the record), the whole transaction is
// rolled back, so a worker that lost its lease commits nothing.
import type { PoolClient } from 'pg';
import type { JobTotals, RecordUpdate } from '../ledger/ledger';
import type { ResultColumn } from '../postgres/resultColumns';
import { resultsUpsert } from '../postgres/resultsTable';
import type { QualifiedName } from '../postgres/identifiers';
import type { ResultRow } from '../sinks/sink';
import type { SharedTables } from './sharedSchema';

export interface ResultsTarget {
  table: QualifiedName;
  columns: readonly ResultColumn[];
}

export interface FencedUpdate {
  update: RecordUpdate;
  fence: string;
}

interface ReturnedRow {
  key: string;
  ordinal: string;
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  output: Record<string, unknown> | null;
  error: string | null;
  error_class: string | null;
  prompt_tokens: string;
  completion_tokens: string;
  cost_usd: number;
  model: string | null;
  updated_at: string;
}

// Postgres text and jsonb cannot hold U+0000.
const withoutNul = (text: string) => text.replaceAll('\u0000', '\uFFFD');
const jsonText = (value: unknown) =>
  value === undefined || value === null ? null : JSON.stringify(value, (_name, inner: unknown) => (typeof inner === 'string' ? withoutNul(inner) : inner));

/** Several outcomes of one record in one disposition become one: the last state, the tokens summed. */
function mergedByKey(updates: readonly FencedUpdate[]): FencedUpdate[] {
  const byKey = new Map<string, FencedUpdate>();
  for (const entry of updates) {
    const earlier = byKey.get(entry.update.key);
    if (!earlier) {
      byKey.set(entry.update.key, entry);
      continue;
    }
    const sum = (name: 'promptTokens' | 'completionTokens' | 'costUsd') => (earlier.update[name] ?? 0) + (entry.update[name] ?? 0);
    byKey.set(entry.update.key, {
      fence: entry.fence,
      update: { ...entry.update, promptTokens: sum('promptTokens'), completionTokens: sum('completionTokens'), costUsd: sum('costUsd') },
    });
  }
  // In key order, as every multi-row write locks them, so two writes cannot deadlock.
  return [...byKey.values()].sort((a, b) => (a.update.key < b.update.key ? -1 : a.update.key > b.update.key ? 1 : 0));
}

export class FencedCommitter {
  private readonly updateSql: string;
  private readonly totalsSql: string;
  private readonly upsert;

  constructor(tables: SharedTables, results: ResultsTarget | null) {
    this.updateSql = `
      UPDATE ${tables.records} r SET
        status = u.status,
        input_hash = coalesce(u.input_hash, r.input_hash),
        output = u.output,
        error = u.error,
        error_class = u.error_class,
        prompt_tokens = r.prompt_tokens + u.prompt_tokens,
        completion_tokens = r.completion_tokens + u.completion_tokens,
        cost_usd = r.cost_usd + u.cost_usd,
        model = coalesce(u.model, r.model),
        committed_by = CASE WHEN u.status = 'pending' THEN r.committed_by ELSE $2 END,
        updated_at = now()
      FROM unnest($3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::text[], $9::bigint[], $10::bigint[],
                  $11::float8[], $12::text[], $13::bigint[])
        AS u(key, status, input_hash, output, error, error_class, prompt_tokens, completion_tokens, cost_usd, model, fence)
      WHERE r.job = $1 AND r.key = u.key AND r.fence = u.fence AND r.lease_owner = $2 AND r.status = 'pending'
      RETURNING r.key, r.ordinal, r.status, r.attempts, r.output, r.error, r.error_class, r.prompt_tokens,
                r.completion_tokens, r.cost_usd, r.model, to_json(r.updated_at) #>> '{}' AS updated_at`;
    this.totalsSql = `
      UPDATE ${tables.jobs} SET requests = requests + $2, retries = retries + $3, rate_limited = rate_limited + $4,
        prompt_tokens = prompt_tokens + $5, completion_tokens = completion_tokens + $6, cost_usd = cost_usd + $7,
        updated_at = now()
      WHERE name = $1`;
    this.upsert = results ? resultsUpsert(results.table, results.columns) : null;
  }

  /**
   * Commits the updates when every record still carries its fence; returns the keys that
   * matched (all of them when it committed, fewer when it rolled back).
   */
  async commit(client: PoolClient, job: string, owner: string, updates: readonly FencedUpdate[], totals: Partial<JobTotals>): Promise<{ committed: boolean; matched: string[] }> {
    const merged = mergedByKey(updates);
    await client.query('BEGIN');
    try {
      let returned: ReturnedRow[] = [];
      if (merged.length > 0) {
        const column = <T>(pick: (update: RecordUpdate) => T) => merged.map((entry) => pick(entry.update));
        const result = await client.query<ReturnedRow>(this.updateSql, [
          job,
          owner,
          column((update) => update.key),
          column((update) => update.status),
          column((update) => update.inputHash ?? null),
          column((update) => jsonText(update.output)),
          column((update) => (update.error === undefined || update.error === null ? null : withoutNul(update.error))),
          column((update) => update.errorClass ?? null),
          column((update) => Math.round(update.promptTokens ?? 0)),
          column((update) => Math.round(update.completionTokens ?? 0)),
          column((update) => update.costUsd ?? 0),
          column((update) => update.model ?? null),
          merged.map((entry) => entry.fence),
        ]);
        returned = result.rows;
        if (returned.length !== merged.length) {
          await client.query('ROLLBACK');
          return { committed: false, matched: returned.map((row) => row.key) };
        }
      }
      const finished = returned.filter((row) => row.status !== 'pending').map(toResultRow);
      if (this.upsert && finished.length > 0) await client.query(this.upsert.sql, this.upsert.values(finished));
      await this.addTotals(client, job, totals);
      await client.query('COMMIT');
      return { committed: true, matched: returned.map((row) => row.key) };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** Spend is real even when the answers were thrown away: totals are added on their own then. */
  async addTotals(client: PoolClient, job: string, totals: Partial<JobTotals>): Promise<void> {
    const values = [totals.requests, totals.retries, totals.rateLimited, totals.promptTokens, totals.completionTokens, totals.costUsd];
    if (values.every((value) => !value)) return;
    await client.query(this.totalsSql, [job, ...values.map((value) => value ?? 0)]);
  }
}

function toResultRow(row: ReturnedRow): ResultRow {
  return {
    key: row.key,
    ordinal: Number(row.ordinal),
    status: row.status === 'done' ? 'done' : 'failed',
    output: row.output,
    error: row.error,
    errorClass: row.error_class,
    attempts: row.attempts,
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    costUsd: row.cost_usd,
    model: row.model,
    updatedAt: row.updated_at,
  };
}
