// A job on real files against the real mock LLM over HTTP, for the engine's tests.
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
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
    cleanup: async () => {
      for (const ledger of opened) ledger.close();
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
