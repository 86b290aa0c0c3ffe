// The ledger's tables, versioned with SQLite's user_version so later releases can migrate
// ledgers written by earlier ones.
import type Database from 'better-sqlite3';

const migrations: readonly string[] = [
  `CREATE TABLE job (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     name TEXT NOT NULL,
     spec_json TEXT NOT NULL,
     config_hash TEXT NOT NULL,
     status TEXT NOT NULL,
     status_reason TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     watermark_json TEXT,
     watermark_config_hash TEXT,
     sink_seq INTEGER NOT NULL DEFAULT 0,
     sink_checkpoint TEXT,
     total INTEGER,
     total_exact INTEGER NOT NULL DEFAULT 0,
     elapsed_ms INTEGER NOT NULL DEFAULT 0,
     requests INTEGER NOT NULL DEFAULT 0,
     retries INTEGER NOT NULL DEFAULT 0,
     rate_limited INTEGER NOT NULL DEFAULT 0,
     prompt_tokens INTEGER NOT NULL DEFAULT 0,
     completion_tokens INTEGER NOT NULL DEFAULT 0,
     cost_usd REAL NOT NULL DEFAULT 0
   );
   CREATE TABLE records (
     key TEXT PRIMARY KEY,
     ordinal INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     input_hash TEXT,
     output TEXT,
     error TEXT,
     error_class TEXT,
     prompt_tokens INTEGER NOT NULL DEFAULT 0,
     completion_tokens INTEGER NOT NULL DEFAULT 0,
     cost_usd REAL NOT NULL DEFAULT 0,
     model TEXT,
     cached INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     seq INTEGER
   ) WITHOUT ROWID;
   CREATE INDEX records_by_hash ON records (input_hash) WHERE status = 'done';
   CREATE INDEX records_by_seq ON records (seq) WHERE seq IS NOT NULL;
   CREATE INDEX records_by_ordinal ON records (ordinal);
   CREATE TABLE errors (
     error_class TEXT PRIMARY KEY,
     count INTEGER NOT NULL,
     sample_key TEXT,
     sample_message TEXT NOT NULL,
     last_at TEXT NOT NULL
   );`,
  // Batch mode: each submission (one uploaded file, one provider batch) and the records
  // waiting for or inside one, with the custom_id of their line.
  `CREATE TABLE batch_submissions (
     id INTEGER PRIMARY KEY,
     provider_batch_id TEXT UNIQUE,
     input_file_id TEXT,
     status TEXT NOT NULL,
     lines INTEGER NOT NULL,
     records INTEGER NOT NULL,
     completed INTEGER NOT NULL DEFAULT 0,
     failed INTEGER NOT NULL DEFAULT 0,
     reserved_usd REAL NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE batch_records (
     key TEXT PRIMARY KEY,
     ordinal INTEGER NOT NULL,
     input_hash TEXT NOT NULL,
     wire_json TEXT NOT NULL,
     tokens INTEGER NOT NULL,
     submissions INTEGER NOT NULL DEFAULT 0,
     submission_id INTEGER,
     custom_id TEXT,
     last_error TEXT
   ) WITHOUT ROWID;
   CREATE INDEX batch_records_by_line ON batch_records (custom_id) WHERE custom_id IS NOT NULL;
   CREATE INDEX batch_records_waiting ON batch_records (ordinal) WHERE submission_id IS NULL;`,
];

export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) {
    throw new Error(`this ledger was written by a newer Drover (schema ${version}); upgrade Drover to read it`);
  }
  for (let next = version; next < migrations.length; next += 1) {
    db.transaction(() => {
      db.exec(migrations[next]);
      db.pragma(`user_version = ${next + 1}`);
    })();
  }
}
