import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { processAlive, readDiscovery } from '../../daemon/daemonClient/discovery';
import { ledgerPath } from '../../daemon/ledger/ledger';
import { startMockLlm } from '../../daemon/mockLlm/server';
import { jobSummarySchema } from '../../daemon/protocol/jobProgress';
import { jobInfoSchema } from '../../daemon/protocol/rpc';
import { runCli, startCli, waitFor } from '../support/cli';
import { createFeedbackDb } from '../support/engineFixture';

function doneCount(home: string): number {
  try {
    const db = new Database(ledgerPath(home, 'feedback'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM records WHERE status = 'done'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // no ledger, or no tables, yet
  }
}

async function writeSpec(dir: string, baseUrl: string, extra: Record<string, unknown> = {}): Promise<string> {
  const path = join(dir, 'feedback.drover.json');
  const spec = {
    name: 'feedback',
    source: { type: 'sqlite', path: 'feedback.db', table: 'feedback', key: 'id' },
    prompt: { template: '{{text}}' },
    model: 'gpt-4.1-mini',
    provider: { baseUrl },
    cache: false,
    retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 100 },
    sink: { type: 'jsonl', path: 'out/results.jsonl' },
    ...extra,
  };
  await writeFile(path, JSON.stringify(spec, null, 2));
  return path;
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) as string) as unknown;

async function jobsJson(home: string) {
  const listed = await runCli(['jobs', '--json', '--state-dir', home]);
  assert.equal(listed.code, 0, listed.stderr);
  return jobInfoSchema.array().parse(JSON.parse(listed.stdout));
}

describe('drover daemon, run --daemon, attach, pause, resume (the CLI as processes)', () => {
  it('a 100,000-record job survives its terminal closing, is watched from another, paused, resumed and finished', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-daemon-cli-'));
    const mock = await startMockLlm({ latencyMs: 50 });
    const home = join(dir, 'state');
    const rows = 100_000;
    const daemon = startCli(['daemon', '--state-dir', home]);
    try {
      createFeedbackDb(join(dir, 'feedback.db'), rows);
      const specFile = await writeSpec(dir, mock.url, { batching: { recordsPerRequest: 50 }, limits: { concurrency: 8 } });
      await waitFor(() => readDiscovery(home)?.pid === daemon.child.pid, 20_000, 'drover daemon to be ready');

      // Terminal 1 submits the job, then is closed.
      const submit = startCli(['run', specFile, '--daemon', '--json', '--state-dir', home]);
      await waitFor(() => doneCount(home) >= 2000, 60_000, '2,000 records done');
      submit.child.kill('SIGHUP');
      assert.equal((await submit.exited).signal, 'SIGHUP');
      const afterClose = doneCount(home);
      await waitFor(() => doneCount(home) >= afterClose + 2000, 60_000, 'the job to go on without its terminal');

      // Terminal 2 attaches; terminal 3 pauses: the attached view ends with "paused" (exit 4).
      const attached = startCli(['attach', 'feedback', '--json', '--state-dir', home]);
      await waitFor(() => attached.stdout().includes('"type":"progress"'), 30_000, 'attach to show progress');
      const pause = await runCli(['pause', 'feedback', '--state-dir', home]);
      assert.equal(pause.code, 0, pause.stderr);
      const attachedEnd = await attached.exited;
      assert.equal(attachedEnd.code, 4, attached.stderr());
      const pausedSummary = jobSummarySchema.parse(lastJson(attached.stdout()));
      assert.equal(pausedSummary.status, 'paused');
      assert.ok(pausedSummary.records.done > 0 && pausedSummary.records.done < rows, `${pausedSummary.records.done} done at the pause`);
      const [paused] = await jobsJson(home);
      assert.deepEqual([paused.jobId, paused.status, paused.active], ['feedback', 'paused', false]);
      assert.equal(paused.records.done, pausedSummary.records.done);

      // Resume from the CLI, attach again until the end (exit 0).
      const resume = await runCli(['resume', 'feedback', '--state-dir', home]);
      assert.equal(resume.code, 0, resume.stderr);
      const final = await runCli(['attach', 'feedback', '--json', '--state-dir', home]);
      assert.equal(final.code, 0, final.stderr);
      assert.deepEqual(jobSummarySchema.parse(lastJson(final.stdout)).records, { total: rows, done: rows, failed: 0 });

      const counts = mock.recordCounts();
      assert.equal(Object.keys(counts).length, rows);
      assert.ok(Object.values(counts).every((count) => count === 1), 'closing the terminal, pausing and resuming sent no record twice');
      const sink = (await readFile(join(dir, 'out', 'results.jsonl'), 'utf8')).trimEnd().split('\n');
      assert.equal(new Set(sink.map((line) => (JSON.parse(line) as { key: string }).key)).size, rows);
      const table = await runCli(['jobs', '--state-dir', home]);
      assert.match(table.stdout, /^NAME\s+STATUS\s+DONE \/ TOTAL\s+FAILED\s+COST\s+UPDATED$/m);
      assert.match(table.stdout, /^feedback\s+done\s+100,000 \/ 100,000\s+0\s+\$\d/m);
    } finally {
      daemon.child.kill('SIGTERM');
      const { code } = await daemon.exited;
      await mock.close();
      await rm(dir, { recursive: true, force: true });
      assert.equal(code, 0, daemon.stderr());
    }
  });

  it('run --daemon starts a detached daemon when none runs; the job outlives the CLI; commands without a daemon say how to start one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-daemon-auto-'));
    const mock = await startMockLlm({ latencyMs: 10 });
    const home = join(dir, 'state');
    let daemonPid: number | undefined;
    try {
      const noDaemon = await runCli(['attach', 'feedback', '--state-dir', home]);
      assert.equal(noDaemon.code, 2);
      assert.match(noDaemon.stderr, /no Drover daemon is running .*drover daemon/);
      const offline = await runCli(['jobs', '--state-dir', home]);
      assert.equal(offline.code, 0);
      assert.match(offline.stderr, /no daemon is running/);

      createFeedbackDb(join(dir, 'feedback.db'), 300);
      const specFile = await writeSpec(dir, mock.url);
      const run = await runCli(['run', specFile, '--daemon', '--json', '--state-dir', home]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /started a daemon \(pid \d+/);
      assert.deepEqual(jobSummarySchema.parse(lastJson(run.stdout)).records, { total: 300, done: 300, failed: 0 });
      daemonPid = readDiscovery(home)?.pid;
      assert.ok(daemonPid !== undefined && processAlive(daemonPid), 'the daemon outlives the command that started it');

      const again = await runCli(['run', specFile, '--daemon', '--json', '--state-dir', home]);
      assert.equal(again.code, 0, again.stderr);
      assert.doesNotMatch(again.stderr, /started a daemon/, 'the running daemon is reused');
      assert.equal(Object.keys(mock.recordCounts()).length, 300);
      assert.ok(Object.values(mock.recordCounts()).every((count) => count === 1), 'running a finished job again sends nothing');

      const unknown = await runCli(['pause', 'nosuch', '--state-dir', home]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /no job named "nosuch"/);
    } finally {
      if (daemonPid !== undefined && processAlive(daemonPid)) {
        process.kill(daemonPid, 'SIGTERM');
        await waitFor(() => !processAlive(daemonPid as number), 20_000, 'the started daemon to stop');
      }
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
