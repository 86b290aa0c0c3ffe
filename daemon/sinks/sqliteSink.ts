// `sink.type: "sqlite"`: a results table (in the source database or another file), one
// row per record, upserted by key, with the answer's fields as typed columns and the raw
// answer as JSON.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { quoteIdentifier } from '../sql/identifiers';
import { columnValue, outputColumns, type ColumnKind, type OutputColumn } from './outputColumns';
import { SinkError, type ResultRow, type ResultSink } from './sink';

const sqliteType: Record<ColumnKind, string> = { text: 'TEXT', integer: 'INTEGER', real: 'REAL', boolean: 'INTEGER', json: 'TEXT' };


export class SqliteSink implements ResultSink {
  private db: Database.Database | null = null;
  private upsert: Database.Statement | null = null;
  private readonly columns: OutputColumn[];

  constructor(
    private readonly path: string,
    private readonly table: string,
    outputSchema: Record<string, unknown>,
  ) {
    this.columns = outputColumns(outputSchema);
  }

  get description(): string {
    return `sqlite ${this.path} (table ${this.table})`;
  }

  async open(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path);
    db.pragma('busy_timeout = 10000');
    const table = quoteIdentifier(this.table);
    const typed = this.columns.map((column) => `${quoteIdentifier(column.column)} ${sqliteType[column.kind]}`);
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      key TEXT PRIMARY KEY, status TEXT NOT NULL, ${typed.map((column) => `${column}, `).join('')}
      output TEXT, error TEXT, error_class TEXT, attempts INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER,
      cost_usd REAL, model TEXT, updated_at TEXT)`);
    const existing = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((row) => row.name));
    if (!existing.has('key') || !existing.has('status')) {
      db.close();
      throw new SinkError(`table ${this.table} in ${this.path} exists but is not a Drover results table (no key/status columns); choose another sink.table`);
    }
    for (const column of this.columns) {
      if (!existing.has(column.column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${quoteIdentifier(column.column)} ${sqliteType[column.kind]}`);
    }
    const names = ['key', 'status', ...this.columns.map((column) => column.column), 'output', 'error', 'error_class', 'attempts', 'prompt_tokens', 'completion_tokens', 'cost_usd', 'model', 'updated_at'];
    this.upsert = db.prepare(
      `INSERT INTO ${table} (${names.map(quoteIdentifier).join(', ')}) VALUES (${names.map(() => '?').join(', ')})
       ON CONFLICT (key) DO UPDATE SET ${names.slice(1).map((name) => `${quoteIdentifier(name)} = excluded.${quoteIdentifier(name)}`).join(', ')}`,
    );
    this.db = db;
  }

  async write(rows: readonly ResultRow[]): Promise<null> {
    const { db, upsert } = this;
    if (!db || !upsert) throw new SinkError(`${this.description} is not open`);
    db.transaction(() => {
      for (const row of rows) {
        upsert.run(
          row.key,
          row.status,
          ...this.columns.map((column) => columnValue(column.kind, row.output?.[column.field])),
          row.output === null ? null : JSON.stringify(row.output),
          row.error,
          row.errorClass,
          row.attempts,
          row.promptTokens,
          row.completionTokens,
          row.costUsd,
          row.model,
          row.updatedAt,
        );
      }
    })();
    return null;
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }
}
