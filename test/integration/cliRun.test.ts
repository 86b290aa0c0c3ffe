import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jobSummarySchema } from '../../daemon/protocol/jobProgress';
import { runCli, startCli, waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';



async function sinkKeys(fixture: Fixture): Promise<string[]> {
  const text = await readFile(join(fixture.dir, 'out', 'results.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'), 'no torn last line');
  return text.trimEnd().split('\n').map((line) => (JSON.parse(line) as { key: string }).key);
}

describe('drover run (the CLI, as a process)', () => {
  it('after SIGKILL, a re-run sends nothing that was finished and ends with every record done once', async () => {
    const fixture = await createFixture(3000, { latencyMs: 60 });
    try {
      const spec = await fixture.writeSpecFile();
      const args = ['run', spec, '--json', '--state-dir', fixture.stateDir];
      const first = startCli(args);
      await waitFor(() => fixture.doneKeys().size >= 600, 60_000, '600 records done');
      first.child.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');

      const finishedBefore = fixture.doneKeys();
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
      const spec = await fixture.writeSpecFile();
      const args = ['run', spec, '--json', '--state-dir', fixture.stateDir];
      const first = startCli(args);
      await waitFor(() => fixture.doneKeys().size >= 200, 60_000, '200 records done');
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
      const spec = await fixture.writeSpecFile({ limits: { concurrency: -1 } });
      const result = await runCli(['run', spec, '--state-dir', fixture.stateDir]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /limits\.concurrency/);
      const badSql = await fixture.writeSpecFile({ source: { type: 'sqlite', path: 'feedback.db', query: 'DELETE FROM feedback' } });
      const refused = await runCli(['run', badSql, '--state-dir', fixture.stateDir]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /SELECT/);
    } finally {
      await fixture.cleanup();
    }
  });
});
