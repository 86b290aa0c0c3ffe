// Three daemons, one limit: three `drover run` processes share one provider limit through
// Redis against one mock LLM that enforces it, and we measure how much of the limit they use
// together and how many 429s they get.
//   node scripts/bench-shared-limit.mjs                       600 RPM, 200,000 TPM, 60 s window
//   node scripts/bench-shared-limit.mjs --rows 1500 --redis redis://127.0.0.1:6379
// Prints one Markdown row for BENCHMARKS.md ("Three daemons, one limit").
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const work = join(root, '.cache', 'bench-shared-limit');
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1500' },
    engines: { type: 'string', default: '3' },
    rpm: { type: 'string', default: '600' },
    tpm: { type: 'string', default: '200000' },
    redis: { type: 'string', default: process.env.DROVER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const rows = Number(values.rows);
const engines = Number(values.engines);
const rpm = Number(values.rpm);
const tpm = Number(values.tpm);
const windowMs = 60_000;
const keyPrefix = `drover-bench:${randomUUID()}:`;

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
execFileSync(process.execPath, [join(root, 'esbuild.mjs')], { stdio: 'ignore' });

function startMock() {
  const args = ['mock-llm', '--port', '0', '--rpm', String(rpm), '--tpm', String(tpm), '--window-ms', String(windowMs), '--latency-ms', '150', '--jitter', '0.5', '--track-arrivals'];
  return new Promise((resolveMock, reject) => {
    const mock = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    mock.stdout.once('data', (chunk) => resolveMock({ mock, url: JSON.parse(String(chunk)).url }));
    mock.once('exit', (code) => reject(new Error(`the mock exited (${code})`)));
  });
}

function createSqliteTable(path) {
  const script = `
    const { default: Database } = await import(${JSON.stringify(join(root, 'node_modules', 'better-sqlite3', 'lib', 'index.js'))});
    const db = new Database(${JSON.stringify(path)});
    db.exec('CREATE TABLE feedback (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO feedback VALUES (?, ?)');
    const texts = ['great product, love it', 'terrible support, slow and broken', 'it is fine', '最高です', '配送が遅くて最悪', 'helpful and friendly', 'refund please, awful'];
    db.transaction(() => { for (let i = 1; i <= ${rows}; i++) insert.run(i, texts[i % 7] + ' (order ' + i + ')'); })();
    db.close();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script]);
}

/** One engine: its own job, state dir and process; the limit shared through Redis. */
function runEngine(index, url, dbPath) {
  const name = `shared-limit-${index}`;
  const specPath = join(work, `${name}.drover.json`);
  writeFileSync(
    specPath,
    JSON.stringify({
      name,
      source: { type: 'sqlite', path: dbPath, table: 'feedback', key: 'id' },
      prompt: { template: '{{text}}' },
      model: 'gpt-4.1-mini',
      provider: { baseUrl: url },
      cache: false,
      batching: { recordsPerRequest: 5 },
      limits: { concurrency: 8, rpm, tpm, shared: { redis: values.redis, keyPrefix } },
    }),
  );
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [cli, 'run', specPath, '--json', '--state-dir', join(work, `${name}-state`)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((done, fail) =>
    child.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`engine ${index} exited ${code}: ${stderr.slice(-2000)}`));
      const summary = JSON.parse(stdout.trim().split('\n').at(-1));
      if (summary.records.done !== rows) return fail(new Error(`engine ${index}: ${summary.records.done} of ${rows} done`));
      done({ summary, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    }),
  );
}

/** Requests and tokens in each window of the run that lies wholly inside it, stepped by 1 s. */
function steadyWindows(arrivals) {
  const sorted = arrivals.filter((arrival) => arrival.admitted).sort((a, b) => a.atMs - b.atMs);
  const first = sorted[0].atMs;
  const last = sorted.at(-1).atMs;
  const windows = [];
  for (let start = first; start + windowMs <= last; start += 1000) {
    const inside = sorted.filter((arrival) => arrival.atMs >= start && arrival.atMs < start + windowMs);
    windows.push({ requests: inside.length, tokens: inside.reduce((sum, arrival) => sum + arrival.tokens, 0) });
  }
  if (windows.length === 0) throw new Error('the run was shorter than one window: raise --rows');
  return windows;
}

const dbPath = join(work, 'feedback.db');
createSqliteTable(dbPath);
const { mock, url } = await startMock();
const statsUrl = url.replace(/\/v1$/, '');
try {
  // The mock's first request loads its tokenizer, which would date it late; one before the
  // engines, and stats from zero.
  await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 1 }),
  });
  await fetch(`${statsUrl}/stats/reset`, { method: 'POST' });
  process.stderr.write(`▶ ${engines} engines × ${rows} records, ${rpm} RPM / ${tpm} TPM shared through ${values.redis}\n`);
  const results = await Promise.all(Array.from({ length: engines }, (_, index) => runEngine(index, url, dbPath)));
  const arrivals = await (await fetch(`${statsUrl}/stats/arrivals`)).json();
  const windows = steadyWindows(arrivals);
  const mean = (pick) => windows.reduce((sum, window) => sum + pick(window), 0) / windows.length;
  const peak = (pick) => Math.max(...windows.map(pick));
  const rejected = arrivals.filter((arrival) => !arrival.admitted).length;
  const percent = (value, limit) => `${((value / limit) * 100).toFixed(1)}%`;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ${process.versions.node}`;
  const date = new Date().toISOString().slice(0, 10);
  const perEngine = results.map(({ summary, seconds }) => (summary.records.done / seconds).toFixed(1)).join(' / ');
  console.log('| date | machine | engines | limit | requests/min used (mean / peak window) | tokens/min used (mean / peak window) | 429s | records/s per engine |');
  console.log('|---|---|---|---|---|---|---|---|');
  console.log(
    `| ${date} | ${machine} | ${engines} × ${rows.toLocaleString('en-US')} records | ${rpm} RPM, ${tpm.toLocaleString('en-US')} TPM | ` +
      `${percent(mean((w) => w.requests), rpm)} / ${percent(peak((w) => w.requests), rpm)} | ` +
      `${percent(mean((w) => w.tokens), tpm)} / ${percent(peak((w) => w.tokens), tpm)} | ${rejected} of ${arrivals.length} | ${perEngine} |`,
  );
} finally {
  mock.kill('SIGTERM');
  // The limit's keys expire on their own within two windows; the bench leaves nothing behind sooner.
  const script = `
    const ioredis = await import(${JSON.stringify(join(root, "node_modules", "ioredis", "built", "index.js"))});
    const Redis = ioredis.default.Redis ?? ioredis.default;
    const redis = new Redis(${JSON.stringify(values.redis)});
    const keys = await redis.keys(${JSON.stringify(`${keyPrefix}*`)});
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script]);
}
