// A job on real files against the real mock LLM over HTTP, for the engine's tests.
import Database from 'better-sqlite3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleFeedback } from '../../daemon/demo/sampleFeedback';
import { Ledger } from '../../daemon/ledger/ledger';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import type { MockLlmOptionsInput } from '../../daemon/mockLlm/options';
import { validateSpec } from '../../daemon/spec/loadSpec';
import type { JobSpec, JobSpecInput } from '../../daemon/spec/jobSpec';

export interface Fixture {
  dir: string;
  dbPath: string;
  stateDir: string;
  mock: MockLlmServer;
  spec(overrides?: Partial<JobSpecInput>): JobSpec;
  ledger(name?: string): Ledger;
  /** Keys the job's ledger has as done right now (empty while the ledger does not exist yet). */
  doneKeys(name?: string): Set<string>;
  /** Writes `feedback.drover.json` (relative paths, cache off) with `extra` on top; returns its path. */
  writeSpecFile(extra?: Record<string, unknown>): Promise<string>;
  cleanup(): Promise<void>;
}

export function createFeedbackDb(path: string, rows: number, text: (i: number) => string = sampleFeedback): void {
  const db = new Database(path);
  db.exec('CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO feedback (id, text) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= rows; i += 1) insert.run(i, text(i));
  })();
  db.close();
}

export async function createFixture(rows: number, mockOptions: MockLlmOptionsInput = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'drover-engine-'));
  const dbPath = join(dir, 'feedback.db');
  createFeedbackDb(dbPath, rows);
  const mock = await startMockLlm(mockOptions);
  const stateDir = join(dir, 'state');
  const opened: Ledger[] = [];
  return {
    dir,
    dbPath,
    stateDir,
    mock,
    spec: (overrides = {}) =>
      validateSpec({
        name: 'feedback',
        source: { type: 'sqlite', path: dbPath, table: 'feedback', key: 'id' },
        prompt: { template: '{{text}}' },
        model: 'gpt-4.1-mini',
        provider: { baseUrl: mock.url },
        retry: { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 50 },
        ...overrides,
      }),
    ledger: (name = 'feedback') => {
      const ledger = Ledger.openReadOnly(stateDir, name);
      opened.push(ledger);
      return ledger;
    },
    doneKeys: (name = 'feedback') => {
      let db: Database.Database;
      try {
        db = new Database(join(stateDir, 'jobs', name, 'ledger.sqlite'), { readonly: true, fileMustExist: true });
      } catch {
        return new Set(); // the run has not created its ledger yet
      }
      try {
        return new Set((db.prepare("SELECT key FROM records WHERE status = 'done'").all() as { key: string }[]).map((row) => row.key));
      } catch {
        return new Set(); // nor its tables
      } finally {
        db.close();
      }
    },
    writeSpecFile: async (extra = {}) => {
      const path = join(dir, 'feedback.drover.json');
      const spec = {
        name: 'feedback',
        source: { type: 'sqlite', path: 'feedback.db', table: 'feedback', key: 'id' },
        prompt: { template: '{{text}}' },
        model: 'gpt-4.1-mini',
        provider: { baseUrl: mock.url },
        cache: false,
        limits: { concurrency: 4 },
        retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 100 },
        sink: { type: 'jsonl', path: 'out/results.jsonl' },
        ...extra,
      };
      await writeFile(path, JSON.stringify(spec, null, 2));
      return path;
    },
    cleanup: async () => {
      for (const ledger of opened) ledger.close();
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
