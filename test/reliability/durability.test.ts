// Durability of `drover run` and of the engine: a record that fails every time, SIGTERM,
// two runs of the same job at once, and a disk that fills up under the JSONL sink.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import { jobSummarySchema } from '../../daemon/protocol/jobProgress';
import { runCli, startCli, waitFor } from '../support/cli';
import { createFixture } from '../support/engineFixture';
import { startScriptedProvider } from './scriptedProvider';

const run = promisify(execFile);



const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as unknown;

describe('durability', () => {
  it('a record the provider refuses every time ends failed after maxAttempts; its batch-mates and the job are unharmed', async () => {
    const fixture = await createFixture(400);
    const poison = '137';
    const provider = await startScriptedProvider((call, response, scripted) => {
      if (call.ids.includes(poison)) scripted.error(response, 500, { message: `The server had an error while processing your request (record ${poison}).`, type: 'server_error' });
      else scripted.answer(call, response);
    });
    try {
      const spec = fixture.spec({ cache: false, provider: { baseUrl: provider.url }, limits: { concurrency: 4 }, retry: { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 50 } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'done');
      assert.deepEqual(summary.records, { total: 400, done: 399, failed: 1 });
      const [failed] = [...fixture.ledger().finished({ status: 'failed' })];
      assert.equal(failed?.key, poison);
      assert.equal(failed?.attempts, 6);
      assert.match(failed?.error ?? '', /record 137.*gave up after 6 attempts/);
      const sends = provider.calls.filter((call) => call.ids.includes(poison)).length;
      assert.equal(sends, 6, 'the poison record was sent exactly maxAttempts times');
    } finally {
      await provider.close();
      await fixture.cleanup();
    }
  });

  it('SIGTERM drains the requests in flight, checkpoints and exits 0 (the job paused); the next run finishes the job', async () => {
    const fixture = await createFixture(2000, { latencyMs: 80 });
    try {
      const spec = await fixture.writeSpecFile();
      const args = ['run', spec, '--json', '--state-dir', fixture.stateDir];
      const first = startCli(args);
      await waitFor(() => fixture.doneKeys().size >= 200, 60_000, '200 records done');
      first.child.kill('SIGTERM');
      const { code } = await first.exited;
      assert.equal(code, 0, first.stderr());
      const summary = jobSummarySchema.parse(lastJson(first.stdout()));
      assert.equal(summary.status, 'paused');
      assert.equal(summary.statusReason, 'paused by SIGTERM');
      assert.equal(fixture.mock.stats().inFlight, 0, 'every request in flight was let finish');
      const answered = Object.keys(fixture.mock.recordCounts()).length;
      assert.equal(summary.records.done, answered, 'everything answered before the exit was kept');

      const second = await runCli(args);
      assert.equal(second.code, 0, second.stderr);
      assert.ok(Object.values(fixture.mock.recordCounts()).every((count) => count === 1), 'nothing was sent twice');
    } finally {
      await fixture.cleanup();
    }
  });

  it('two runs of the same job at once: the second refuses (exit 3) without touching the ledger, and nothing is sent twice', async () => {
    const fixture = await createFixture(1500, { latencyMs: 40 });
    try {
      const spec = await fixture.writeSpecFile();
      const args = ['run', spec, '--json', '--state-dir', fixture.stateDir];
      const first = startCli(args);
      await waitFor(() => fixture.doneKeys().size >= 100, 60_000, 'the first run under way');
      const second = await runCli(args);
      assert.equal(second.code, 3, second.stderr);
      assert.match(second.stderr, /feedback is already running \(pid \d+, since [^)]+\) with the same state directory/);
      const { code } = await first.exited;
      assert.equal(code, 0, first.stderr());
      assert.ok(Object.values(fixture.mock.recordCounts()).every((count) => count === 1), 'nothing was sent twice');
      const lines = (await readFile(join(fixture.dir, 'out', 'results.jsonl'), 'utf8')).trimEnd().split('\n');
      assert.equal(lines.length, 1500);
      assert.equal(new Set(lines.map((line) => (JSON.parse(line) as { key: string }).key)).size, 1500);
      // Once the first is over, the job can be run again (a no-op: everything is done).
      const third = await runCli(args);
      assert.equal(third.code, 0, third.stderr);
    } finally {
      await fixture.cleanup();
    }
  });

  it('a full disk under the JSONL sink pauses the job with a clear error; after space is freed the resume leaves no torn line', async () => {
    const fixture = await createFixture(3000, { latencyMs: 5 });
    const disk = await mkdtemp(join(tmpdir(), 'drover-full-disk-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', disk]);
    try {
      const sinkPath = join(disk, 'results.jsonl');
      const spec = await fixture.writeSpecFile({ sink: { type: 'jsonl', path: sinkPath } });
      const args = ['run', spec, '--json', '--state-dir', fixture.stateDir];
      const first = await runCli(args);
      assert.equal(first.code, 3, `exit ${first.code}: ${first.stderr}`);
      const paused = jobSummarySchema.parse(lastJson(first.stdout));
      assert.equal(paused.status, 'paused');
      assert.match(paused.statusReason ?? '', /Could not write the results to the sink.*ENOSPC.*free disk space.*resume/s);
      assert.ok(paused.records.done > 0, 'the ledger kept every answer');

      await run('mount', ['-o', 'remount,size=8m', disk]);
      const second = await runCli(args);
      assert.equal(second.code, 0, second.stderr);
      const text = await readFile(sinkPath, 'utf8');
      assert.ok(text.endsWith('\n'), 'no torn last line');
      const keys = text.trimEnd().split('\n').map((line) => (JSON.parse(line) as { key: string }).key);
      assert.equal(keys.length, 3000, 'every record once in the sink');
      assert.equal(new Set(keys).size, 3000);
    } finally {
      await run('umount', [disk]).catch(() => undefined);
      await rm(disk, { recursive: true, force: true });
      await fixture.cleanup();
    }
  });
});
