import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jobSummarySchema } from '../../daemon/protocol/jobProgress';
import { runCli, startCli, waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';

function doneKeys(fixture: Fixture): Set<string> {
  const path = join(fixture.stateDir, 'jobs', 'feedback', 'ledger.sqlite');
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
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
}

async function writeSpec(fixture: Fixture, extra: Record<string, unknown> = {}): Promise<string> {
  const path = join(fixture.dir, 'feedback.drover.json');
  const spec = {
    name: 'feedback',
    source: { type: 'sqlite', path: 'feedback.db', table: 'feedback', key: 'id' },
    prompt: { template: '{{text}}' },
    model: 'gpt-4.1-mini',
    provider: { baseUrl: fixture.mock.url },
    cache: false,
    limits: { concurrency: 4 },
    retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 100 },
    sink: { type: 'jsonl', path: 'out/results.jsonl' },
    ...extra,
  };
  await writeFile(path, JSON.stringify(spec, null, 2));
  return path;
}

async function sinkKeys(fixture: Fixture): Promise<string[]> {
  const text = await readFile(join(fixture.dir, 'out', 'results.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'), 'no torn last line');
  return text.trimEnd().split('\n').map((line) => (JSON.parse(line) as { key: string }).key);
}

describe('drover run (the CLI, as a process)', () => {
  it('after SIGKILL, a re-run sends nothing that was finished and ends with every record done once', async () => {
    const fixture = await createFixture(3000, { latencyMs: 60 });
    try {
      const spec = await writeSpec(fixture);
      const args = ['run', spec, '--json', '--state-dir', fixture.stateDir];
      const first = startCli(args);
      await waitFor(() => doneKeys(fixture).size >= 600, 60_000, '600 records done');
      first.child.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');

      const finishedBefore = doneKeys(fixture);
      const countsBefore = fixture.mock.recordCounts();
      assert.ok(finishedBefore.size < 3000, 'killed mid-run');
      const second = await runCli(args);
      assert.equal(second.code, 0, second.stderr);
      const summary = jobSummarySchema.parse(JSON.parse(second.stdout.trim().split('\n').at(-1) as string));
      assert.deepEqual(summary.records, { total: 3000, done: 3000, failed: 0 });

      const countsAfter = fixture.mock.recordCounts();
      for (const key of finishedBefore) assert.equal(countsAfter[key], countsBefore[key], `record ${key} was sent again`);
      assert.equal(Object.keys(countsAfter).length, 3000);
      const keys = await sinkKeys(fixture);
      assert.equal(keys.length, 3000, 'each record once in the sink');
      assert.equal(new Set(keys).size, 3000);
    } finally {
      await fixture.cleanup();
    }
  });

  it('Ctrl-C pauses cleanly (exit 4) and the next run resumes to the end (exit 0)', async () => {
    const fixture = await createFixture(2000, { latencyMs: 60 });
    try {
      const spec = await writeSpec(fixture);
      const args = ['run', spec, '--json', '--state-dir', fixture.stateDir];
      const first = startCli(args);
      await waitFor(() => doneKeys(fixture).size >= 200, 60_000, '200 records done');
      first.child.kill('SIGINT');
      const { code } = await first.exited;
      assert.equal(code, 4, first.stderr());
      const paused = jobSummarySchema.parse(JSON.parse(first.stdout().trim().split('\n').at(-1) as string));
      assert.equal(paused.status, 'paused');
      assert.equal(fixture.mock.stats().inFlight, 0, 'requests in flight were let finish');
      const done = paused.records.done;
      assert.ok(done > 0 && done < 2000);

      const second = await runCli(args);
      assert.equal(second.code, 0, second.stderr);
      assert.ok(Object.values(fixture.mock.recordCounts()).every((count) => count === 1), 'nothing sent twice');
      assert.equal((await sinkKeys(fixture)).length, 2000);
    } finally {
      await fixture.cleanup();
    }
  });

  it('refuses a bad spec with exit code 2 and names the JSON path', async () => {
    const fixture = await createFixture(1);
    try {
      const spec = await writeSpec(fixture, { limits: { concurrency: -1 } });
      const result = await runCli(['run', spec, '--state-dir', fixture.stateDir]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /limits\.concurrency/);
      const badSql = await writeSpec(fixture, { source: { type: 'sqlite', path: 'feedback.db', query: 'DELETE FROM feedback' } });
      const refused = await runCli(['run', badSql, '--state-dir', fixture.stateDir]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /SELECT/);
    } finally {
      await fixture.cleanup();
    }
  });
});
