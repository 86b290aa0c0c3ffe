// What every scenario shares: its interface, the size switch, and the common job shapes.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { JobSpecInput } from '../../daemon/spec/jobSpec';
import { sqliteFeedbackPath } from '../datasets';
import { paths } from '../paths';
import type { ScenarioResult } from '../report';

export interface ScenarioContext {
  quick: boolean;
  log: (message: string) => void;
}

export interface Scenario {
  id: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

export const model = 'gpt-4.1-mini';
export const mockLatencyMs = 300;
export const mockJitter = 0.2;

/** A fresh SQLite file for one run's results (Drover's sink or the baseline's table). */
export function freshResultsDb(name: string): string {
  const dir = join(paths.work, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  return file;
}

/** The first `records` rows of the SQLite feedback table → the mock → a SQLite results table. */
export function sqliteJob(name: string, records: number, baseUrl: string, resultsDb: string, extra: Partial<JobSpecInput> = {}): JobSpecInput {
  return {
    name,
    source: { type: 'sqlite', path: sqliteFeedbackPath, query: `SELECT id, text FROM feedback WHERE id <= ${records}`, key: 'id' },
    prompt: { template: '{{text}}' },
    model,
    provider: { baseUrl },
    sink: { type: 'sqlite', path: resultsDb, table: 'results' },
    ...extra,
  };
}

export const percent = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
