// The ledger several workers share: records claimed in chunks with FOR UPDATE SKIP LOCKED
// under a lease that expires on the database's clock and a fencing token drawn from a
// sequence; every later write about a record (its attempts, its outcome) is guarded by that
// token, so a worker whose lease expired and whose records another worker claimed can
// change nothing about them. The style of timescale/pgai's vectorizer worker: claim, call the
// model, write the answer and the state change in one transaction — a crash can only
// repeat work, never lose or double it.
import type { Pool } from 'pg';
import type { AttemptedRecord, JobRow, JobTotals, LedgerRecord, RecordUpdate } from '../ledger/ledger';
import type { AttemptLedger, PreparerLedger, ProgressLedger } from '../ledger/ledgerViews';
import { withClient } from '../postgres/pool';
import { FencedCommitter, type ResultsTarget } from './fencedCommit';
import { readSharedJob } from './sharedJobRow';
import { sharedTables, type SharedTables } from './sharedSchema';

export interface ClaimedRow {
  key: string;
  ordinal: number;
  fields: Record<string, unknown> | null;
  malformed: string | null;
  attempts: number;
  inputHash: string | null;
}

export interface CommitResult {
  committed: boolean;
  /** Keys whose outcome was thrown away because another worker holds them now. */
  lost: string[];
  /** Why the commit failed, when the database could not be asked (the outcome is then unknown). */
  failure?: string;
}

export interface SharedJobState {
  status: string;
  configHash: string;
  loaded: boolean;
  pending: number;
}


export class PostgresLedger implements AttemptLedger, PreparerLedger, ProgressLedger {
  readonly tables: SharedTables;
  /** The fence of each record this worker has claimed and not yet finished or given back. */
  private readonly fences = new Map<string, string>();
  private readonly claimed = new Map<string, ClaimedRow>();
  private readonly lostKeys = new Set<string>();
  private readonly committer: FencedCommitter;
  private background: Promise<void> = Promise.resolve();
  private cachedJob: JobRow | undefined;
  private cachedCounts = { done: 0, failed: 0 };

  constructor(
    private readonly pool: Pool,
    schema: string,
    readonly jobName: string,
    readonly owner: string,
    private readonly leaseMs: number,
    results: ResultsTarget | null,
    private readonly onBackgroundError: (error: unknown) => void,
  ) {
    this.tables = sharedTables(schema);
    this.committer = new FencedCommitter(this.tables, results);
  }

  /** Creates the job row or joins the one there; returns what the job's row says now. */
  async join(specJson: string, configHash: string): Promise<SharedJobState> {
    await this.pool.query(
      `INSERT INTO ${this.tables.jobs} (name, spec_json, config_hash, status) VALUES ($1, $2, $3, 'running')
       ON CONFLICT (name) DO NOTHING`,
      [this.jobName, specJson, configHash],
    );
    return this.state();
  }

  async state(): Promise<SharedJobState> {
    const { rows } = await this.pool.query<{ status: string; config_hash: string; loaded: boolean; pending: string }>(
      `SELECT status, config_hash, loaded,
              (SELECT count(*) FROM ${this.tables.records} WHERE job = $1 AND status = 'pending') AS pending
         FROM ${this.tables.jobs} WHERE name = $1`,
      [this.jobName],
    );
    const row = rows[0];
    if (!row) throw new Error(`the job row of ${this.jobName} vanished from the shared ledger`);
    return { status: row.status, configHash: row.config_hash, loaded: row.loaded, pending: Number(row.pending) };
  }

  async setStatus(status: JobRow['status'], reason: string | null): Promise<void> {
    await this.pool.query(`UPDATE ${this.tables.jobs} SET status = $2, status_reason = $3, updated_at = now() WHERE name = $1`, [this.jobName, status, reason]);
  }

  /** Reads the job row and counts into the cache that job() and counts() answer from. */
  async refresh(): Promise<void> {
    const { job, counts } = await readSharedJob(this.pool, this.tables, this.jobName);
    this.cachedJob = job;
    this.cachedCounts = counts;
  }

  job(): JobRow | undefined {
    return this.cachedJob;
  }

  counts(): { done: number; failed: number } {
    return this.cachedCounts;
  }

  /**
   * Claims up to `limit` pending records whose lease is free or expired, oldest first, each
   * claim with a fence of its own; records other workers are claiming right now are skipped.
   */
  async claim(limit: number): Promise<ClaimedRow[]> {
    const { rows } = await this.pool.query<{ key: string; ordinal: string; fields: Record<string, unknown> | null; malformed: string | null; attempts: number; input_hash: string | null; fence: string }>(
      `WITH fence AS (SELECT nextval($5::regclass) AS value),
            picked AS (
              SELECT key FROM ${this.tables.records}
               WHERE job = $1 AND status = 'pending' AND (lease_until IS NULL OR lease_until < now())
               ORDER BY ordinal LIMIT $2
               FOR UPDATE SKIP LOCKED)
       UPDATE ${this.tables.records} r
          SET lease_owner = $3, lease_until = now() + $4 * interval '1 millisecond', fence = fence.value
         FROM picked, fence
        WHERE r.job = $1 AND r.key = picked.key
       RETURNING r.key, r.ordinal, r.fields, r.malformed, r.attempts, r.input_hash, r.fence`,
      [this.jobName, limit, this.owner, this.leaseMs, this.tables.fences],
    );
    return rows
      .map((row) => {
        const claimed: ClaimedRow = { key: row.key, ordinal: Number(row.ordinal), fields: row.fields, malformed: row.malformed, attempts: row.attempts, inputHash: row.input_hash };
        this.fences.set(row.key, row.fence);
        this.claimed.set(row.key, claimed);
        this.lostKeys.delete(row.key);
        return claimed;
      })
      .sort((a, b) => a.ordinal - b.ordinal);
  }

  /** A claimed record as the preparer sees it: pending, with the attempts made so far. */
  lookup(key: string): LedgerRecord | undefined {
    const row = this.claimed.get(key);
    return row && { status: 'pending', attempts: row.attempts, inputHash: row.inputHash };
  }

  /** The content cache is per worker's memory in a single process; across workers it is off. */
  cached(): undefined {
    return undefined;
  }

  isLost(key: string): boolean {
    return this.lostKeys.has(key);
  }

  /** Forgets records this worker will do nothing more with (lost, or abandoned when it stops). */
  drop(keys: readonly string[]): void {
    for (const key of keys) this.forget(key);
  }

  async markAttempted(records: readonly AttemptedRecord[]): Promise<boolean> {
    const fenced = records.filter((record) => this.fences.has(record.key) && !this.lostKeys.has(record.key));
    if (fenced.length !== records.length) return false;
    // Rows are locked in key order by every multi-row write, so two writes cannot deadlock.
    const ordered = [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const marked = withClient(this.pool, async (client) => {
      await client.query('BEGIN');
      const result = await client.query(
        `UPDATE ${this.tables.records} r
            SET attempts = CASE WHEN r.input_hash IS NOT DISTINCT FROM u.input_hash THEN r.attempts + 1 ELSE 1 END,
                input_hash = u.input_hash,
                lease_until = greatest(r.lease_until, now() + $3 * interval '1 millisecond')
           FROM unnest($4::text[], $5::text[], $6::bigint[]) AS u(key, input_hash, fence)
          WHERE r.job = $1 AND r.key = u.key AND r.fence = u.fence AND r.lease_owner = $2 AND r.status = 'pending'`,
        [this.jobName, this.owner, this.leaseMs, ordered.map((record) => record.key), ordered.map((record) => record.inputHash), ordered.map((record) => this.fences.get(record.key))],
      );
      if (result.rowCount !== records.length) {
        await client.query('ROLLBACK');
        return false;
      }
      await client.query('COMMIT');
      return true;
    });
    // Without a durable attempt nothing is sent; the records' lease runs out and they go again.
    return marked.catch((error: unknown) => {
      this.onBackgroundError(error);
      return false;
    });
  }

  unmarkAttempted(keys: readonly string[]): void {
    const owned = keys.filter((key) => this.fences.has(key));
    const fences = owned.map((key) => this.fences.get(key));
    this.inBackground(() =>
      this.pool.query(
        `UPDATE ${this.tables.records} r SET attempts = greatest(0, r.attempts - 1)
           FROM unnest($3::text[], $4::bigint[]) AS u(key, fence)
          WHERE r.job = $1 AND r.key = u.key AND r.fence = u.fence AND r.lease_owner = $2 AND r.status = 'pending'`,
        [this.jobName, this.owner, owned, fences],
      ),
    );
  }

  /** Commits a batch's outcomes under their fences, or nothing (see fencedCommit.ts). */
  async commit(updates: readonly RecordUpdate[], totals: Partial<JobTotals>): Promise<CommitResult> {
    await this.background;
    if (updates.length === 0 && Object.values(totals).every((value) => !value)) return { committed: true, lost: [] };
    const fenced = updates.map((update) => ({ update, fence: this.fences.get(update.key) ?? '0' }));
    let outcome: { committed: boolean; matched: string[] };
    try {
      outcome = await withClient(this.pool, (client) => this.committer.commit(client, this.jobName, this.owner, fenced, totals));
    } catch (error) {
      // Committed or not (a connection lost during COMMIT cannot tell), these records are no
      // longer this worker's: done, or claimed again once their lease runs out — never twice,
      // since every commit is guarded by fence and status.
      const keys = [...new Set(updates.map((update) => update.key))];
      this.drop(keys);
      return { committed: false, lost: keys, failure: error instanceof Error ? error.message : String(error) };
    }
    if (outcome.committed) {
      for (const update of updates) if (update.status !== 'pending') this.forget(update.key);
      return { committed: true, lost: [] };
    }
    await withClient(this.pool, (client) => this.committer.addTotals(client, this.jobName, totals)).catch(this.onBackgroundError);
    const matched = new Set(outcome.matched);
    const lost = [...new Set(updates.map((update) => update.key))].filter((key) => !matched.has(key));
    this.drop(lost);
    // The records that were still ours go back, for whoever claims next to answer again.
    await this.release(outcome.matched);
    return { committed: false, lost };
  }

  /**
   * Extends the lease of every claim in flight; returns the keys whose lease is gone (another
   * worker claimed them while this one was not heard from).
   */
  async heartbeat(): Promise<string[]> {
    const keys = this.ownedKeys();
    if (keys.length === 0) return [];
    // Rows locked right now (this worker's own commit, another's claim) are skipped, never
    // waited for: a heartbeat cannot deadlock with a commit, and the next one extends them.
    // Lost is what no longer carries this worker's fence, whatever its status.
    const { rows } = await this.pool.query<{ key: string }>(
      `WITH mine AS (
         SELECT r.key FROM ${this.tables.records} r
           JOIN unnest($4::text[], $5::bigint[]) AS u(key, fence) ON r.key = u.key AND r.fence = u.fence
          WHERE r.job = $1 AND r.lease_owner = $2 AND r.status = 'pending'
          ORDER BY r.key
          FOR UPDATE OF r SKIP LOCKED),
       extended AS (
         UPDATE ${this.tables.records} r SET lease_until = now() + $3 * interval '1 millisecond'
           FROM mine WHERE r.job = $1 AND r.key = mine.key)
       SELECT u.key FROM unnest($4::text[], $5::bigint[]) AS u(key, fence)
         JOIN ${this.tables.records} r ON r.job = $1 AND r.key = u.key
        WHERE r.fence IS DISTINCT FROM u.fence OR r.lease_owner IS DISTINCT FROM $2`,
      [this.jobName, this.owner, this.leaseMs, keys, keys.map((key) => this.fences.get(key))],
    );
    // A key finished or given back while the heartbeat ran is no longer ours to lose.
    const lost = rows.map((row) => row.key).filter((key) => this.fences.has(key) && !this.lostKeys.has(key));
    for (const key of lost) this.markLost(key);
    return lost;
  }

  /** Gives records back at once (no waiting for the lease to run out). */
  async release(keys: readonly string[]): Promise<void> {
    const owned = keys.filter((key) => this.fences.has(key) && !this.lostKeys.has(key));
    const fences = owned.map((key) => this.fences.get(key) ?? '0');
    for (const key of keys) this.forget(key);
    if (owned.length === 0) return;
    // Best effort: records not given back are claimed again when their lease runs out.
    await this.pool
      .query(
        `UPDATE ${this.tables.records} r SET lease_owner = NULL, lease_until = NULL
           FROM unnest($3::text[], $4::bigint[]) AS u(key, fence)
          WHERE r.job = $1 AND r.key = u.key AND r.fence = u.fence AND r.lease_owner = $2 AND r.status = 'pending'`,
        [this.jobName, this.owner, owned, fences],
      )
      .then(() => undefined, this.onBackgroundError);
  }

  async releaseAll(): Promise<void> {
    await this.background;
    await this.release(this.ownedKeys());
    this.fences.clear();
    this.claimed.clear();
    this.lostKeys.clear();
  }

  /** The fence stays known, so a late commit is still put to the database (which refuses it). */
  private markLost(key: string): void {
    this.lostKeys.add(key);
  }

  private ownedKeys(): string[] {
    return [...this.fences.keys()].filter((key) => !this.lostKeys.has(key));
  }

  private forget(key: string): void {
    this.fences.delete(key);
    this.claimed.delete(key);
    this.lostKeys.delete(key);
  }

  private inBackground(work: () => Promise<unknown>): void {
    this.background = this.background.then(work).then(
      () => undefined,
      (error: unknown) => this.onBackgroundError(error),
    );
  }
}
