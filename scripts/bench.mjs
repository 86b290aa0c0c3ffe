// `npm run bench`: end-to-end throughput and peak memory of `drover run` against the mock
// LLM (a separate process at zero latency, so what is measured is Drover itself).
//   npm run bench                               the 100,000-row SQLite job with failure injection
//   npm run bench -- --rows 20000               a smaller SQLite job
//   npm run bench -- --postgres 5000000         also the Postgres job over that many rows
// Prints Markdown rows (date, machine, numbers) for BENCHMARKS.md.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const work = join(root, '.cache', 'bench');
const { values } = parseArgs({ options: { postgres: { type: 'string' }, rows: { type: 'string', default: '100000' } } });
const pgUrl = process.env.DROVER_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const faults = ['--fail-500', '0.05', '--fail-drop', '0.02', '--fail-badjson', '0.01', '--fail-reset', '0.01', '--seed', '7'];

mkdirSync(work, { recursive: true });
execFileSync(process.execPath, [join(root, 'esbuild.mjs')], { stdio: 'ignore' });
if (!existsSync('/usr/bin/time')) throw new Error('the benchmark reads peak memory with GNU time (apt-get install time)');

function startMock(args) {
  return new Promise((resolveMock, reject) => {
    const mock = spawn(process.execPath, [cli, 'mock-llm', '--port', '0', '--no-record-counts', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    mock.stdout.once('data', (chunk) => resolveMock({ mock, url: JSON.parse(String(chunk)).url }));
    mock.once('exit', (code) => reject(new Error(`the mock exited (${code})`)));
  });
}

/** `drover run` under GNU time: the summary, the wall time and the peak RSS of the process. */
function timedRun(specPath, stateDir) {
  rmSync(stateDir, { recursive: true, force: true });
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', 'PEAK_RSS_KB=%M', process.execPath, cli, 'run', specPath, '--json', '--state-dir', stateDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((done, fail) =>
    child.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`drover run exited ${code}: ${stderr.slice(-2000)}`));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const summary = JSON.parse(stdout.trim().split('\n').at(-1));
      const peak = /PEAK_RSS_KB=(\d+)/.exec(stderr);
      done({ summary, seconds, peakRssMb: peak ? Math.round(Number(peak[1]) / 1024) : null });
    }),
  );
}

async function scenario(name, body, mockArgs) {
  const { mock, url } = await startMock(mockArgs);
  const specPath = join(work, `${name}.drover.json`);
  writeFileSync(specPath, JSON.stringify({ ...body, name, model: 'gpt-4.1-mini', provider: { baseUrl: url } }, null, 2));
  try {
    process.stderr.write(`▶ ${name}\n`);
    const result = await timedRun(specPath, join(work, `${name}-state`));
    const { records } = result.summary;
    if (records.done !== records.total) throw new Error(`${name}: ${records.done} of ${records.total} done`);
    return { name, ...result };
  } finally {
    mock.kill('SIGTERM');
  }
}

function createSqliteTable(path, rows) {
  const script = `
    const { default: Database } = await import(${JSON.stringify(join(root, 'node_modules', 'better-sqlite3', 'lib', 'index.js'))});
    const db = new Database(${JSON.stringify(path)});
    db.exec('DROP TABLE IF EXISTS feedback; CREATE TABLE feedback (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO feedback VALUES (?, ?)');
    const texts = ['great product, love it', 'terrible support, slow and broken', 'it is fine', '最高です', '配送が遅くて最悪', 'helpful and friendly', 'refund please, awful'];
    db.transaction(() => { for (let i = 1; i <= ${rows}; i++) insert.run(i, texts[i % 7] + ' (order ' + i + ')'); })();
    db.close();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script]);
}

const results = [];
const sqliteRows = Number(values.rows);
const sqlitePath = join(work, 'feedback.db');
createSqliteTable(sqlitePath, sqliteRows);
results.push(
  await scenario(
    `sqlite-${sqliteRows}-faults`,
    {
      source: { type: 'sqlite', path: sqlitePath, table: 'feedback', key: 'id' },
      prompt: { template: '{{text}}' },
      limits: { concurrency: 32 },
      retry: { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 2000 },
      sink: { type: 'jsonl', path: join(work, 'sqlite-results.jsonl') },
    },
    faults,
  ),
);

if (values.postgres) {
  const rows = Number(values.postgres);
  execFileSync(process.execPath, [join(root, 'scripts', 'generate-pg-table.mjs'), '--url', pgUrl, '--table', 'drover_bench.feedback', '--rows', String(rows), '--replace'], { stdio: 'inherit' });
  execFileSync('psql', [pgUrl, '-qc', 'DROP TABLE IF EXISTS drover_bench.feedback_results']);
  results.push(
    await scenario(
      `postgres-${rows}`,
      {
        source: { type: 'postgres', url: pgUrl, table: 'drover_bench.feedback', key: 'id' },
        prompt: { template: '{{text}}' },
        limits: { concurrency: 32 },
        sink: { type: 'postgres', table: 'drover_bench.feedback_results' },
      },
      [],
    ),
  );
  const written = execFileSync('psql', [pgUrl, '-tAc', "SELECT count(*) FROM drover_bench.feedback_results WHERE status = 'done'"], { encoding: 'utf8' }).trim();
  if (Number(written) !== rows) throw new Error(`the Postgres sink holds ${written} done rows, not ${rows}`);
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ${process.versions.node}`;
const date = new Date().toISOString().slice(0, 10);
process.stdout.write('\n| date | machine | scenario | records | time | records/s | peak RSS | requests | retries |\n|---|---|---|---|---|---|---|---|---|\n');
for (const { name, summary, seconds, peakRssMb } of results) {
  const number = (value) => Math.round(value).toLocaleString('en-US');
  process.stdout.write(
    `| ${date} | ${machine} | ${name} | ${number(summary.records.total)} | ${seconds.toFixed(1)} s | ${number(summary.records.done / seconds)} | ${peakRssMb ?? 'n/a'} MB | ${number(summary.requests)} | ${number(summary.retries)} |\n`,
  );
}
