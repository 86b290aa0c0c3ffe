// Reads a Postgres table or query as records: keyset pages in key order, each in its own
// short READ ONLY transaction, one page in memory at a time, reconnecting (and re-reading
// the page after the last key handed out) when the connection drops.
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { connectionTarget } from '../postgres/connectionConfig';
import { describeDatabaseError, describeQueryError, errorMessage, queryCanceledSqlState, sqlStateOf } from '../postgres/errors';
import { quoteIdentifier } from '../sql/identifiers';
import { createPool, inReadOnlyTransaction, withClient } from '../postgres/pool';
import { withReconnect } from '../postgres/reconnect';
import { type SourcePlan, planQuery, planTable } from '../postgres/sourcePlan';
import { runSelect, type WrappedSelect, wrapSelect } from '../postgres/sourceQuery';
import { sourceSessionOptions, sourceTypeParsers, unusableKeyType } from '../postgres/sourceTypes';
import type { PostgresSourceSpec } from '../spec/jobSpec';
import { type KeysetQueries, keysetRead, keyValueOf, type Row } from './keysetReader';
import { type ReadOptions, type RecordCount, type RecordSource, SourceError, type SourceItem, type SourceRecord } from './source';

/** How much longer than the server's statement_timeout the client waits for an answer. */
const clientTimeoutSlackMs = 5000;
/** Above this many rows (by the planner's statistics) count() trusts the estimate instead of scanning. */
const estimateAboveRows = 1_000_000;
/** Below this, BERNOULLI (row-level, a full scan) is cheap and more uniform than SYSTEM (block-level). */
const blockSampleAboveRows = 100_000;
/** A block sample draws on at least this many blocks (8 kB pages), so no handful of pages dominates. */
const minSampleBlocks = 200;

export async function openPostgresSource(spec: PostgresSourceSpec): Promise<RecordSource> {
  const fail = (message: string) => new SourceError(message);
  const target = connectionTarget({
    optionPath: 'source',
    url: spec.url,
    passwordEnv: spec.passwordEnv,
    applicationName: 'drover source',
    fail,
  });
  const options = [target.config.options, sourceSessionOptions].filter((option) => option !== undefined).join(' ');
  // Two connections: a page read and a count or sample may overlap. A healthy server ends a
  // slow read itself (statement_timeout); the client-side timeout is for a connection whose
  // far end is gone without a word (a half-open socket), which would otherwise wait for ever.
  const queryTimeout = spec.statementTimeoutMs + clientTimeoutSlackMs;
  const pool = createPool({ ...target.config, max: 2, types: sourceTypeParsers(), options, query_timeout: queryTimeout });
  try {
    await withClient(pool, async () => undefined).catch((error: unknown) => {
      throw fail(`source.url: cannot connect to ${target.description}: ${describeDatabaseError(error)}`);
    });
    const plan =
      spec.table !== undefined
        ? await withClient(pool, (client) => planTable(client, spec.table ?? '', fail))
        : planQuery(spec.query ?? '', fail);
    const source = new PostgresSource(pool, plan, spec, target.description);
    await source.validate();
    return source;
  } catch (error) {
    await pool.end();
    throw error;
  }
}

class PostgresSource implements RecordSource {
  readonly description: string;
  private readonly origin: string;
  private readonly keySql: string;

  constructor(
    private readonly pool: Pool,
    private readonly plan: SourcePlan,
    private readonly spec: PostgresSourceSpec,
    connection: string,
  ) {
    this.origin = plan.table === null ? 'query' : `table ${plan.table.label}`;
    this.description = `postgres ${connection} (${this.origin}, key ${spec.key})`;
    this.keySql = quoteIdentifier(spec.key);
  }

  /** Runs the query once with LIMIT 0, so a bad query or key is reported before anything is read. */
  async validate(): Promise<void> {
    const { fields } = await this.select(wrapSelect(this.plan.select, ' LIMIT 0'), []);
    const keyFields = fields.filter((field) => field.name === this.spec.key);
    const keyField = keyFields[0];
    if (keyField === undefined) {
      const columns = fields.map((field) => field.name).join(', ');
      throw new SourceError(`source.key: there is no column "${this.spec.key}" in the ${this.origin}; its columns are: ${columns}`);
    }
    if (keyFields.length > 1) {
      throw new SourceError(
        `source.key: the ${this.origin} has ${keyFields.length} columns named "${this.spec.key}"; give them distinct names (AS …)`,
      );
    }
    const badType = await this.run((client) => unusableKeyType(client, keyField.dataTypeID));
    if (badType !== null) {
      throw new SourceError(
        `source.key: column "${this.spec.key}" has type ${badType}, which cannot order a resumable read; ` +
          'use a column of a number, text, uuid, date or timestamp type (or cast it in the query)',
      );
    }
  }

  async count(signal?: AbortSignal): Promise<RecordCount> {
    const statistics = await this.tableStatistics(signal);
    if (statistics !== null && statistics.rows >= estimateAboveRows) return { total: Math.round(statistics.rows), exact: false };
    const counting = wrapSelect(this.plan.select, '', 'SELECT count(*) AS total FROM ');
    try {
      const exact = await this.attempt((client) => runSelect<{ total: string }>(client, counting, []), signal);
      return { total: Number(exact.rows[0]?.total ?? 0), exact: true };
    } catch (error) {
      if (sqlStateOf(error) !== queryCanceledSqlState) throw this.sourceError(error, counting, signal);
    }
    // Counting takes longer than the statement timeout: the planner's estimate will do.
    type Explained = { 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] };
    const explain = wrapSelect(this.plan.select, '', 'EXPLAIN (FORMAT JSON) SELECT * FROM ');
    const { rows } = await this.select<Explained>(explain, [], signal);
    return { total: Math.round(rows[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0), exact: false };
  }

  async *sample(size: number, signal?: AbortSignal): AsyncGenerator<SourceRecord> {
    const { total } = await this.count(signal);
    if (total === 0 || size <= 0) return;
    // A little more than needed, so that about `size` rows survive the draw; the final
    // ORDER BY random() LIMIT picks among them without favouring the first blocks read.
    const rowPercent = Math.min(100, (125 * size) / total);
    const notNull = `${this.keySql} IS NOT NULL`;
    const statistics = await this.tableStatistics(signal);
    let statement: WrappedSelect;
    let percent = rowPercent;
    if (this.plan.table !== null && statistics !== null) {
      // A table gets TABLESAMPLE. On a large one SYSTEM reads only the sampled blocks, but
      // rows in a block are alike (inserted together), so it reads at least
      // `minSampleBlocks` of them; small tables get row-level BERNOULLI (a cheap full scan).
      const blocks = total > blockSampleAboveRows && statistics.pages > 0;
      if (blocks) percent = Math.min(100, Math.max(rowPercent, (100 * minSampleBlocks) / statistics.pages));
      const method = blocks ? 'SYSTEM' : 'BERNOULLI';
      const text = `SELECT * FROM ${this.plan.table.sql} TABLESAMPLE ${method} ($1) WHERE ${notNull} ORDER BY random() LIMIT $2`;
      statement = { text, userOffset: 0 };
    } else {
      // A query (or a view) has no blocks to pick: a Bernoulli sample of its rows, which is
      // one pass over the query within the statement timeout.
      statement = wrapSelect(this.plan.select, ` WHERE ${notNull} AND random() * 100 < $1 ORDER BY random() LIMIT $2`);
    }
    const { rows } = await this.select<Row>(statement, [percent, size], signal);
    let ordinal = 0;
    for (const row of rows) {
      const key = keyValueOf(row[this.spec.key]);
      if (key === null) continue;
      ordinal += 1;
      yield { kind: 'record', ordinal, key: String(key), cursor: { ordinal, key }, fields: row };
    }
  }

  /** The planner's row and page counts of a plain table; null for a query or a view. */
  private async tableStatistics(signal?: AbortSignal): Promise<{ rows: number; pages: number } | null> {
    const table = this.plan.table;
    if (!table?.sampleable) return null;
    return this.run(async (client) => {
      const result = await client.query<{ rows: number; pages: number }>(
        'SELECT reltuples::float8 AS rows, relpages AS pages FROM pg_class WHERE oid = $1',
        [table.oid],
      );
      return result.rows[0] ?? null;
    }, signal);
  }

  read(options: ReadOptions = {}): AsyncIterable<SourceItem> {
    const key = this.keySql;
    const page = (where: string, limitParameter: string) =>
      wrapSelect(this.plan.select, `${where} ORDER BY ${key} LIMIT ${limitParameter}`);
    const first = page('', '$1');
    const after = page(` WHERE ${key} > $1`, '$2');
    const from = page(` WHERE ${key} >= $1`, '$2');
    const nullKeys = wrapSelect(this.plan.select, ` WHERE ${key} IS NULL LIMIT $1 OFFSET $2`);
    const rowsOf = async (statement: WrappedSelect, values: unknown[], signal?: AbortSignal) =>
      (await this.select<Row>(statement, values, signal)).rows;
    const queries: KeysetQueries = {
      nullKeyRows: (offset, limit, signal) => rowsOf(nullKeys, [limit, offset], signal),
      page: (last, inclusive, limit, signal) =>
        last === undefined ? rowsOf(first, [limit], signal) : rowsOf(inclusive ? from : after, [last, limit], signal),
    };
    return keysetRead(queries, {
      keyColumn: this.spec.key,
      pageSize: this.spec.pageSize,
      after: options.after,
      signal: options.signal,
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async select<R extends QueryResultRow>(statement: WrappedSelect, values: unknown[], signal?: AbortSignal) {
    try {
      return await this.attempt((client) => runSelect<R>(client, statement, values), signal);
    } catch (error) {
      throw this.sourceError(error, statement, signal);
    }
  }

  private async run<T>(work: (client: PoolClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await this.attempt(work, signal);
    } catch (error) {
      throw this.sourceError(error, null, signal);
    }
  }

  /** One short read-only transaction, run again from scratch after a lost connection. */
  private attempt<T>(work: (client: PoolClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withReconnect(() => inReadOnlyTransaction(this.pool, this.spec.statementTimeoutMs, work), {
      signal,
      giveUp: (message) => new SourceError(`source ${this.description}: ${message}`),
    });
  }

  private sourceError(error: unknown, statement: WrappedSelect | null, signal?: AbortSignal): unknown {
    if (error instanceof SourceError || signal?.aborted) return error;
    if (sqlStateOf(error) === queryCanceledSqlState) {
      return new SourceError(
        `source: a read took longer than source.statementTimeoutMs (${this.spec.statementTimeoutMs} ms); raise it, ` +
          `lower source.pageSize, or index the key column "${this.spec.key}"`,
      );
    }
    if (this.plan.table !== null) return new SourceError(`source.table ${this.plan.table.label}: ${describeDatabaseError(error)}`);
    if (errorMessage(error).startsWith('cannot insert multiple commands')) {
      return new SourceError('source.query must be exactly one SELECT statement, but it contains several (separated by ";")');
    }
    if (statement === null) return new SourceError(`source.query: ${describeDatabaseError(error)}`);
    const described = describeQueryError(error, this.plan.select, statement.userOffset);
    if (errorMessage(error) === 'syntax error at or near ";"') {
      return new SourceError(`source.query must be exactly one SELECT statement: ${described}`);
    }
    return new SourceError(`source.query: ${described}`);
  }
}
