// Writes results into a Postgres table, one multi-row upsert per batch. The rows travel as
// one array per column (`INSERT … SELECT * FROM unnest($1::text[], …)`): a single
// statement and round trip whatever the batch size, no temporary table whose session a
// reconnect would lose, and idempotent by key, so a batch written twice after a lost
// connection (or a crash) leaves exactly one row per key.
import type { Pool } from 'pg';
import { connectionTarget } from '../postgres/connectionConfig';
import { describeDatabaseError, errorMessage, isTransient } from '../postgres/errors';
import {
  displayQualified,
  parseQualifiedName,
  type QualifiedName,
} from '../postgres/identifiers';
import { createPool, withClient } from '../postgres/pool';
import { defaultResultsTable } from '../sql/identifiers';
import { withReconnect } from '../postgres/reconnect';
import { type ResultColumn, resultColumns } from '../postgres/resultColumns';
import { prepareResultsTable, resultsUpsert } from '../postgres/resultsTable';
import type { SinkSpec } from '../spec/jobSpec';
import { type ResultRow, type ResultSink, SinkError } from './sink';

const writeTimeoutMs = 30_000;

export type PostgresSinkSpec = Extract<SinkSpec, { type: 'postgres' }>;

export interface PostgresSinkOptions {
  jobName: string;
  outputSchema: Record<string, unknown>;
  /** The source's connection, used when the sink names none. */
  sourceUrl?: string;
  sourcePasswordEnv?: string;
}

export async function openPostgresSink(spec: PostgresSinkSpec, options: PostgresSinkOptions): Promise<ResultSink> {
  const fail = (message: string) => new SinkError(message);
  const url = spec.url ?? options.sourceUrl;
  if (url === undefined) throw fail('sink.url: give the connection URL of the database to write to (the source is not Postgres)');
  const target = connectionTarget({
    optionPath: 'sink',
    url,
    // A password variable belongs to its URL: the source's only applies to the source's URL.
    passwordEnv: spec.url === undefined ? (spec.passwordEnv ?? options.sourcePasswordEnv) : spec.passwordEnv,
    applicationName: 'drover sink',
    fail,
  });
  let table: QualifiedName;
  if (spec.table === undefined) {
    table = { schema: null, name: defaultResultsTable(options.jobName) };
  } else {
    const parsed = parseQualifiedName(spec.table);
    if (typeof parsed === 'string') throw fail(`sink.table: ${parsed}`);
    table = parsed;
  }
  // A write to a connection whose far end vanished without a word (half-open) would wait for
  // ever; after this long the connection is dropped and the write goes again on a new one.
  const pool = createPool({ ...target.config, max: 1, query_timeout: writeTimeoutMs });
  return new PostgresSink(pool, table, resultColumns(options.outputSchema), target.description);
}

class PostgresSink implements ResultSink {
  readonly description: string;
  private readonly upsert;

  constructor(
    private readonly pool: Pool,
    private readonly table: QualifiedName,
    private readonly columns: readonly ResultColumn[],
    private readonly connection: string,
  ) {
    this.description = `postgres ${connection} (table ${displayQualified(table)})`;
    this.upsert = resultsUpsert(table, columns);
  }

  /**
   * Creates or completes the table; no retries here, so a wrong URL is reported at once.
   * The checkpoint is not needed: every write is an upsert.
   */
  async open(_checkpoint: string | null): Promise<void> {
    const fail = (message: string) => new SinkError(message);
    try {
      await withClient(this.pool, (client) => prepareResultsTable(client, this.table, this.columns, fail));
    } catch (error) {
      if (error instanceof SinkError) throw error;
      if (isTransient(error)) throw fail(`sink.url: cannot connect to ${this.connection}: ${errorMessage(error)}`);
      throw fail(`sink.table "${displayQualified(this.table)}": ${describeDatabaseError(error)}`);
    }
  }

  async write(rows: readonly ResultRow[]): Promise<string | null> {
    if (rows.length === 0) return null;
    const values = this.upsert.values(rows);
    const count = values[0]?.length ?? 0;
    const fail = (message: string) => new SinkError(message);
    try {
      await withReconnect(() => withClient(this.pool, (client) => client.query(this.upsert.sql, values)), {
        giveUp: (message) => fail(`sink ${this.description}: ${message}`),
      });
    } catch (error) {
      if (error instanceof SinkError) throw error;
      throw fail(`sink: writing ${count} rows to table "${displayQualified(this.table)}" failed: ${describeDatabaseError(error)}`);
    }
    return null;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
