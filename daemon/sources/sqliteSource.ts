// A SQLite source: one SELECT (or a whole table) read in key order by keyset pages, over a
// read-only connection. Each page is one short statement, so no read transaction is held
// for long and the sink may write to the same file meanwhile.
import { stat } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { quoteIdentifier } from '../sql/identifiers';
import type { SqliteSourceSpec } from '../spec/jobSpec';
import { type KeyValue, type Row, keysetRead, keyValueOf } from './keysetReader';
import { type ReadOptions, type RecordCount, type RecordSource, type SourceItem, type SourceRecord, SourceError } from './source';

// The sink may hold the write lock for a moment; a reader waits rather than failing.
const busyTimeoutMs = 10_000;

function quoteStart(sql: string): string {
  const oneLine = sql.replace(/\s+/g, ' ').trim();
  return JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 80)}…` : oneLine);
}

const acceptedQueries = 'exactly one SELECT statement (WITH … SELECT is fine)';

async function openDatabase(path: string): Promise<Database.Database> {
  try {
    await stat(path);
  } catch {
    throw new SourceError(`source.path: the SQLite database ${path} does not exist`);
  }
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    return db;
  } catch (error) {
    throw new SourceError(`source.path: cannot read ${path} as a SQLite database (${(error as Error).message})`);
  }
}

/** The user's query, checked with SQLite's own parser: one statement, read-only, usable as a subquery. */
function checkedQuery(db: Database.Database, query: string): string {
  // A trailing ";" is harmless alone but breaks the subquery the pages wrap it in.
  const statement = query.replace(/[\s;]+$/, '');
  let prepared: Database.Statement;
  try {
    prepared = db.prepare(statement);
  } catch (error) {
    const message = (error as Error).message;
    if (/more than one statement/i.test(message)) {
      throw new SourceError(`source.query must be ${acceptedQueries}; ${quoteStart(query)} holds more than one statement`);
    }
    throw new SourceError(`source.query: SQLite cannot run ${quoteStart(query)}: ${message}`);
  }
  if (!prepared.reader || !prepared.readonly) {
    throw new SourceError(
      `source.query must be ${acceptedQueries}; refused ${quoteStart(query)}, which ${prepared.readonly ? 'returns no rows' : 'would change the database'}`,
    );
  }
  try {
    // PRAGMA and EXPLAIN return rows without writing, but they are not SELECTs: SQLite refuses them here.
    db.prepare(`SELECT * FROM (\n${statement}\n) AS drover_source LIMIT 0`);
  } catch (error) {
    // Only a final ";" with whitespace after it is dropped above: one followed by a comment
    // would need an SQL tokenizer to find, and a hint is enough.
    const hint = /;\s*(--|\/\*)/.test(statement) ? '; remove the final ";" (or the comment after it)' : '';
    throw new SourceError(
      `source.query must be ${acceptedQueries}; refused ${quoteStart(query)}: it cannot be read as a subquery (${(error as Error).message})${hint}`,
    );
  }
  return statement;
}

function tableQuery(db: Database.Database, table: string, path: string): string {
  const objects = db
    .prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  if (!objects.includes(table)) {
    const existing = objects.length === 0 ? 'it has no tables' : `it has ${objects.map((name) => JSON.stringify(name)).join(', ')}`;
    throw new SourceError(`source.table: there is no table or view ${JSON.stringify(table)} in ${path}; ${existing}`);
  }
  return `SELECT * FROM ${quoteIdentifier(table)}`;
}

function checkKeyColumn(columns: string[], key: string): void {
  if (columns.includes(key)) return;
  const sameButCase = columns.find((column) => column.toLowerCase() === key.toLowerCase());
  const hint = sameButCase === undefined ? '' : ` (did you mean ${JSON.stringify(sameButCase)}?)`;
  throw new SourceError(
    `source.key: column ${JSON.stringify(key)} is not among the source's columns${hint}: ${columns.map((column) => JSON.stringify(column)).join(', ')}`,
  );
}

class SqliteSource implements RecordSource {
  readonly description: string;
  private readonly firstPage: Database.Statement;
  private readonly pageAfter: Database.Statement;
  private readonly pageFrom: Database.Statement;
  private readonly nullKeys: Database.Statement;
  private readonly total: Database.Statement;
  private readonly randomRows: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly spec: SqliteSourceSpec,
    select: string,
  ) {
    const what = spec.table === undefined ? 'query' : `table ${spec.table}`;
    this.description = `sqlite ${spec.path} (${what}, key ${spec.key})`;
    const source = `SELECT * FROM (\n${select}\n) AS drover_source`;
    const key = quoteIdentifier(spec.key);
    checkKeyColumn(
      db.prepare(source).columns().map((column) => column.name),
      spec.key,
    );
    // NULL keys sort first in SQLite and keysetRead reports them on their own; left in, a first
    // page of nothing but NULLs would never move the key forward.
    this.firstPage = db.prepare(`${source} WHERE ${key} IS NOT NULL ORDER BY ${key} LIMIT ?`);
    this.pageAfter = db.prepare(`${source} WHERE ${key} > ? ORDER BY ${key} LIMIT ?`);
    this.pageFrom = db.prepare(`${source} WHERE ${key} >= ? ORDER BY ${key} LIMIT ?`);
    this.nullKeys = db.prepare(`${source} WHERE ${key} IS NULL LIMIT ? OFFSET ?`);
    this.total = db.prepare(`SELECT count(*) FROM (\n${select}\n) AS drover_source`).pluck();
    this.randomRows = db.prepare(`${source} WHERE ${key} IS NOT NULL ORDER BY random() LIMIT ?`);
  }

  async count(signal?: AbortSignal): Promise<RecordCount> {
    this.requireOpen();
    signal?.throwIfAborted();
    return { total: Number(this.total.get()), exact: true };
  }

  read(options: ReadOptions = {}): AsyncIterable<SourceItem> {
    this.requireOpen();
    const queries = {
      nullKeyRows: async (offset: number, limit: number, signal?: AbortSignal) => {
        signal?.throwIfAborted();
        return this.nullKeys.all(limit, offset) as Row[];
      },
      page: async (after: KeyValue | undefined, inclusive: boolean, limit: number, signal?: AbortSignal) => {
        signal?.throwIfAborted();
        this.requireOpen();
        const rows = (
          after === undefined ? this.firstPage.all(limit) : (inclusive ? this.pageFrom : this.pageAfter).all(after, limit)
        ) as Row[];
        this.refuseBlobKeys(rows);
        return rows;
      },
    };
    return keysetRead(queries, { keyColumn: this.spec.key, pageSize: this.spec.pageSize, ...options });
  }

  async *sample(size: number, signal?: AbortSignal): AsyncGenerator<SourceRecord> {
    this.requireOpen();
    signal?.throwIfAborted();
    const rows = this.randomRows.all(size) as Row[];
    for (const [index, row] of rows.entries()) {
      const key = keyValueOf(row[this.spec.key]) as KeyValue;
      // Ordinals number the sample itself; a sample is never resumed.
      yield { kind: 'record', ordinal: index + 1, key: String(key), cursor: { ordinal: index + 1, key }, fields: row };
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** A BLOB key cannot be passed back for the next page (it would come back as hex text). */
  private refuseBlobKeys(rows: Row[]): void {
    if (rows.some((row) => row[this.spec.key] instanceof Uint8Array)) {
      throw new SourceError(`source.key: column ${JSON.stringify(this.spec.key)} holds BLOB values; use an INTEGER or TEXT key`);
    }
  }

  private requireOpen(): void {
    if (!this.db.open) throw new SourceError(`${this.description} is closed`);
  }
}

export async function openSqliteSource(spec: SqliteSourceSpec): Promise<RecordSource> {
  const db = await openDatabase(spec.path);
  try {
    const select = spec.table === undefined ? checkedQuery(db, spec.query ?? '') : tableQuery(db, spec.table, spec.path);
    return new SqliteSource(db, spec, select);
  } catch (error) {
    db.close();
    throw error;
  }
}
