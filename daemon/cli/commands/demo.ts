import { mkdir, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { usd } from '../../cost/currency';
import { ensureDemoDatabase } from '../../demo/demoDatabase';
import { startMockLlm } from '../../mockLlm/server';
import { loadSpecFile } from '../../spec/loadSpec';
import { UsageError, type CliCommand } from '../command';
import { formatCount } from '../format';
import { runInTerminal } from '../runInTerminal';

const usage = `drover demo [--rows N] [--dir DIR]

The end-to-end demo, with no key and no service: creates (once) N multilingual
customer-feedback rows in DIR/feedback.db (default 20,000 in ./demo), starts the built-in
mock LLM with realistic latency and a requests/tokens-per-minute limit, and runs a
sentiment job over it with the live progress line, writing the answers back into the
database. Ctrl-C pauses; run it again to start over.`;

// Tight enough that the limiter, not the latency, sets the pace: the demo shows it at work.
const limits = { rpm: 1200, tpm: 1_000_000 };

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'Run the demo: 20,000 rows through the mock LLM, no key needed',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { rows: { type: 'string', default: '20000' }, dir: { type: 'string', default: 'demo' } } });
    const rows = Number(values.rows);
    if (!Number.isInteger(rows) || rows < 1) throw new UsageError('--rows needs a positive whole number');
    const dir = resolve(values.dir);
    await mkdir(dir, { recursive: true });
    const dbPath = resolve(dir, 'feedback.db');
    const { created } = ensureDemoDatabase(dbPath, rows);
    process.stderr.write(`${created ? 'Created' : 'Using'} ${formatCount(rows)} feedback rows in ${dbPath}\n`);

    const mock = await startMockLlm({ latencyMs: 300, jitter: 0.4, latencyPerTokenMs: 0.5, ...limits, seed: 1 });
    const stateDir = resolve(dir, 'state');
    const specPath = resolve(dir, 'feedback.drover.json');
    try {
      // Each demo run starts over, so it always shows the whole job.
      await rm(stateDir, { recursive: true, force: true });
      const db = new Database(dbPath);
      db.exec('DROP TABLE IF EXISTS feedback_sentiment');
      db.close();
      const spec = {
        $schema: '../dist/job.schema.json',
        name: 'demo-feedback-sentiment',
        source: { type: 'sqlite', path: 'feedback.db', table: 'feedback', key: 'id' },
        prompt: { template: 'Channel: {{channel}}\nFeedback: {{text}}' },
        model: 'gpt-4.1-mini',
        provider: { baseUrl: mock.url },
        batching: { recordsPerRequest: 20 },
        limits: { concurrency: 48, ...limits, budgetUsd: 5 },
        sink: { type: 'sqlite', table: 'feedback_sentiment' },
      };
      await writeFile(specPath, `${JSON.stringify(spec, null, 2)}\n`);
      process.stderr.write(`Mock LLM at ${mock.url} (${limits.rpm} requests/min, ${formatCount(limits.tpm)} tokens/min, ~300 ms per answer)\nJob spec: ${specPath}\n\n`);
      const code = await runInTerminal(await loadSpecFile(specPath), { stateDir, json: false, retryFailed: false, currency: usd });
      const stats = mock.stats();
      process.stderr.write(
        [
          '',
          `The mock saw ${formatCount(stats.requests.total)} requests, ${stats.rateLimited} answered 429; the busiest minute held ${formatCount(stats.maxRequestsInWindow)} requests (limit ${limits.rpm}) and ${formatCount(stats.maxTokensInWindow)} tokens (limit ${formatCount(limits.tpm)}).`,
          '',
          'Look at the results:',
          `  sqlite3 ${dbPath} "SELECT sentiment, count(*), round(avg(score)) FROM feedback_sentiment GROUP BY 1"`,
          `  npx drover export demo-feedback-sentiment --state-dir ${stateDir} --format csv --out ${resolve(dir, 'sentiment.csv')}`,
          `  npx drover estimate ${specPath}     # what the same job would cost on other models`,
          '',
        ].join('\n'),
      );
      return code;
    } finally {
      await mock.close();
    }
  },
};
