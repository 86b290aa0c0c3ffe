// The naive baseline: how a batch job against an LLM API is commonly written. Everything
// is loaded into memory, cut into batches of 100, one promise per batch behind a semaphore,
// Promise.all over all of them, a fixed-window per-minute request counter, a retry wrapper
// with exponential backoff, no resume, answers matched by position, results written at the
// end. It sends Drover's message shape to the same mock, so only the pipeline differs.
//
//   node .cache/bench/naive.js '<NaiveConfig as JSON>'   → prints a NaiveSummary line
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { defaultOutputSchema, defaultSystemPrompt } from '../../daemon/spec/jobSpec';
import { batchResponseSchema } from '../../daemon/wire/wireFormat';
import { naiveConfigSchema, type NaiveSummary } from './naiveProtocol';

interface Row {
  id: string;
  text: string;
}

interface Answer {
  sentiment: string;
  score: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const config = naiveConfigSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
const summary: NaiveSummary = { records: 0, answered: 0, requests: 0, retries: 0, rateLimited: 0, failedBatches: 0, stopped: false, loadSec: 0 };
const answers = new Map<string, Answer>();

async function loadAll(): Promise<Row[]> {
  const { source } = config;
  if (source.type === 'sqlite') {
    const db = new Database(source.path, { readonly: true });
    const rows = db.prepare('SELECT CAST(id AS TEXT) AS id, text FROM feedback WHERE id <= ? ORDER BY id').all(source.records) as Row[];
    db.close();
    return rows;
  }
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  const result = await client.query<Row>(`SELECT id::text AS id, text FROM ${source.table} ORDER BY id LIMIT $1`, [source.records]);
  await client.end();
  return result.rows;
}

class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** At most `rpm` requests per calendar minute of this process. */
class MinuteCounter {
  private windowStart = Date.now();
  private count = 0;

  constructor(private readonly rpm: number | undefined) {}

  async take(): Promise<void> {
    if (this.rpm === undefined) return;
    for (;;) {
      const now = Date.now();
      if (now - this.windowStart >= 60_000) {
        this.windowStart = now;
        this.count = 0;
      }
      if (this.count < this.rpm) {
        this.count++;
        return;
      }
      await sleep(this.windowStart + 60_000 - now);
    }
  }
}

async function withRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= config.maxAttempts) throw error;
      summary.retries++;
      await sleep(config.baseDelayMs * 2 ** (attempt - 1));
    }
  }
}

const systemMessage =
  `${defaultSystemPrompt}\n\n` +
  'The user message is JSON: {"records":[{"id":…,"input":…}]}. Answer with JSON only: ' +
  '{"results":[…]} with exactly one item per record, in any order, each holding the ' +
  `record's "id" unchanged and the fields of this JSON Schema: ${JSON.stringify(defaultOutputSchema)}`;
const responseFormat = { type: 'json_schema', json_schema: { name: 'drover_results', strict: true, schema: batchResponseSchema(defaultOutputSchema) } };

async function callModel(batch: readonly Row[]): Promise<Answer[]> {
  summary.requests++;
  const response = await fetch(`${config.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    body: JSON.stringify({
      model: config.model,
      messages: [
        { role: 'system', content: systemMessage },
        { role: 'user', content: JSON.stringify({ records: batch.map((row) => ({ id: row.id, input: row.text })) }) },
      ],
      response_format: responseFormat,
      max_tokens: 40 * batch.length,
    }),
  });
  if (response.status === 429) summary.rateLimited++;
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const body = (await response.json()) as { choices: { message: { content: string } }[] };
  return (JSON.parse(body.choices[0].message.content) as { results: Answer[] }).results;
}

function writeResults(): void {
  const db = new Database(config.resultsPath);
  db.exec('DROP TABLE IF EXISTS results; CREATE TABLE results (key TEXT PRIMARY KEY, status TEXT, sentiment TEXT, score INTEGER)');
  const insert = db.prepare("INSERT INTO results VALUES (?, 'done', ?, ?)");
  db.transaction(() => {
    for (const [key, answer] of answers) insert.run(key, answer.sentiment, answer.score);
  })();
  db.close();
}

function finish(): void {
  summary.answered = answers.size;
  writeResults();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

async function main(): Promise<void> {
  const loadStarted = performance.now();
  const rows = await loadAll();
  summary.records = rows.length;
  summary.loadSec = (performance.now() - loadStarted) / 1000;
  const batches: Row[][] = [];
  for (let at = 0; at < rows.length; at += config.recordsPerRequest) batches.push(rows.slice(at, at + config.recordsPerRequest));
  const semaphore = new Semaphore(config.concurrency);
  const counter = new MinuteCounter(config.rpm);
  await Promise.all(
    batches.map(async (batch) => {
      await semaphore.acquire();
      try {
        const results = await withRetry(async () => {
          await counter.take();
          return callModel(batch);
        });
        batch.forEach((row, index) => {
          const answer = results[index];
          if (answer) answers.set(row.id, answer);
        });
      } catch {
        summary.failedBatches++;
      } finally {
        semaphore.release();
      }
    }),
  );
  finish();
}

// No resume: a stop keeps what was answered so far and drops the rest.
process.once('SIGTERM', () => {
  summary.stopped = true;
  finish();
  process.exit(0);
});

main().catch((error: unknown) => {
  process.stderr.write(`naive pipeline: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
