// The tables the engines read, and the check of what they wrote against the analyst rule.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { analyseSentiment } from '../daemon/mockLlm/analyst';
import { paths } from './paths';

export const sqliteFeedbackPath = join(paths.work, 'feedback.db');
export const pgUrl = process.env.DROVER_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const pgSchema = 'drover_bench';
export const pgFeedbackTable = `${pgSchema}.feedback`;

// Unique per row through the order number, so the content cache never answers for a request.
const texts = [
  'great product, love it',
  'terrible support, slow and broken',
  'it is fine',
  '最高です、とても満足',
  '配送が遅くて最悪',
  'helpful and friendly staff, fast delivery',
  'refund please, awful and expensive',
  '使いやすいけど高すぎ',
];

/** Table `feedback (id, text)` with at least `rows` rows (kept between runs; only grows). */
export function ensureSqliteFeedback(rows: number): void {
  mkdirSync(dirname(sqliteFeedbackPath), { recursive: true });
  const db = new Database(sqliteFeedbackPath);
  try {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    const { count } = db.prepare('SELECT count(*) AS count FROM feedback').get() as { count: number };
    if (count >= rows) return;
    const insert = db.prepare('INSERT INTO feedback (id, text) VALUES (?, ?)');
    db.transaction(() => {
      for (let id = count + 1; id <= rows; id++) insert.run(id, `${texts[id % texts.length]} (order ${id})`);
    })();
  } finally {
    db.close();
  }
}

/** `drover_bench.feedback` with at least `rows` rows (ids 1…n), made server-side by scripts/generate-pg-table.mjs. */
export async function ensurePgFeedback(rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    const exists = await client.query<{ count: string }>(
      `SELECT count(*) AS count FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'feedback'`,
      [pgSchema],
    );
    if (Number(exists.rows[0].count) > 0) {
      const { rows: counted } = await client.query<{ count: string }>(`SELECT count(*) AS count FROM ${pgFeedbackTable}`);
      if (Number(counted[0].count) >= rows) return;
    }
  } finally {
    await client.end();
  }
  const script = join(paths.root, 'scripts', 'generate-pg-table.mjs');
  execFileSync(process.execPath, [script, '--url', pgUrl, '--table', pgFeedbackTable, '--rows', String(rows), '--replace'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export async function pgQuery(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface AnswerCheck {
  records: number;
  /** Records with a done answer in the sink. */
  answered: number;
  /** Answers equal to the analyst rule for the record's text. */
  correct: number;
}

/**
 * Compares a results table (`key`, `sentiment`, `score`; Drover's sink or the baseline's)
 * with the analyst rule over the first `records` rows of the source.
 */
export function checkSqliteAnswers(resultsPath: string, resultsTable: string, records: number): AnswerCheck {
  if (!existsSync(resultsPath)) return { records, answered: 0, correct: 0 };
  const db = new Database(sqliteFeedbackPath, { readonly: true });
  try {
    db.prepare('ATTACH DATABASE ? AS results').run(resultsPath);
    const rows = db
      .prepare(
        `SELECT f.text AS text, r.sentiment AS sentiment, r.score AS score FROM feedback f
         LEFT JOIN results."${resultsTable}" r ON r.key = CAST(f.id AS TEXT) AND r.status = 'done'
         WHERE f.id <= ?`,
      )
      .iterate(records) as Iterable<{ text: string; sentiment: string | null; score: number | null }>;
    let answered = 0;
    let correct = 0;
    for (const row of rows) {
      if (row.sentiment === null) continue;
      answered++;
      const expected = analyseSentiment(row.text);
      if (row.sentiment === expected.sentiment && row.score === expected.score) correct++;
    }
    return { records, answered, correct };
  } finally {
    db.close();
  }
}
