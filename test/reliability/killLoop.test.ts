// SIGKILL of `drover run` at many random moments across one job, each followed by a
// resume, with the mock injecting faults meanwhile. At the end every record is done exactly
// once in the ledger and in the sink, no record finished before a kill was sent again,
// attempts never passed maxAttempts, and the ledger passes SQLite's integrity check.
// `npm test` kills a few times per sink; `npm run test:chaos` sets DROVER_CHAOS_KILLS=25.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startCli, waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';

const kills = Number(process.env.DROVER_CHAOS_KILLS ?? 4);
const rows = 6000;
const maxAttempts = 6;

interface LedgerView {
  done: Map<string, number>;
  statuses: Map<string, number>;
}

function readLedger(fixture: Fixture): LedgerView {
  const view: LedgerView = { done: new Map(), statuses: new Map() };
  let db: Database.Database;
  try {
    db = new Database(join(fixture.stateDir, 'jobs', 'feedback', 'ledger.sqlite'), { readonly: true, fileMustExist: true });
  } catch {
    return view; // not created yet
  }
  try {
    for (const row of db.prepare('SELECT key, status, attempts FROM records').all() as { key: string; status: string; attempts: number }[]) {
      if (row.status === 'done') view.done.set(row.key, row.attempts);
      view.statuses.set(row.status, (view.statuses.get(row.status) ?? 0) + 1);
    }
  } catch {
    // the tables are not there yet
  } finally {
    db.close();
  }
  return view;
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Kill moments spread over the first 80% of the job — a done-count to reach (or none:
 * during start-up), then a short random delay — so every kill lands on a running job even
 * when the machine is fast.
 */
function killPlan(count: number): { doneAtLeast: number; thenMs: number }[] {
  return Array.from({ length: count }, (_, index) => ({
    doneAtLeast: Math.random() < 0.15 ? 0 : Math.floor(((index + Math.random()) * rows * 0.8) / (count + 1)),
    thenMs: Math.floor(Math.random() * 120),
  }));
}

async function killAndResume(fixture: Fixture, specPath: string): Promise<{ killed: number; sentAfterFinish: string[] }> {
  const args = ['run', specPath, '--json', '--state-dir', fixture.stateDir];
  // What each finished record's send count was when it was first seen finished after a kill.
  const countWhenFinished = new Map<string, number>();
  let killed = 0;
  for (const moment of killPlan(kills)) {
    const cli = startCli(args);
    let exited = false;
    void cli.exited.then(() => (exited = true));
    await waitFor(() => exited || readLedger(fixture).done.size >= moment.doneAtLeast, 120_000, `${moment.doneAtLeast} records done`);
    await sleep(moment.thenMs);
    cli.child.kill('SIGKILL');
    const { signal, code } = await cli.exited;
    if (signal === 'SIGKILL') killed += 1;
    else assert.equal(code, 0, `a run ended by itself with exit ${code}: ${cli.stderr()}`);
    const counts = fixture.mock.recordCounts();
    for (const key of readLedger(fixture).done.keys()) if (!countWhenFinished.has(key)) countWhenFinished.set(key, counts[key] ?? 0);
  }
  const last = startCli(args);
  const { code } = await last.exited;
  assert.equal(code, 0, last.stderr());
  const counts = fixture.mock.recordCounts();
  const sentAfterFinish = [...countWhenFinished].filter(([key, count]) => counts[key] !== count).map(([key]) => key);
  return { killed, sentAfterFinish };
}

function assertLedgerWhole(fixture: Fixture): void {
  const view = readLedger(fixture);
  assert.deepEqual(Object.fromEntries(view.statuses), { done: rows }, 'every record done, none failed or pending');
  for (const [key, attempts] of view.done) assert.ok(attempts >= 1 && attempts <= maxAttempts, `record ${key}: ${attempts} attempts`);
  const ledger = fixture.ledger();
  assert.equal(ledger.integrityCheck(), 'ok');
  assert.equal(ledger.job()?.status, 'done');
}

describe(`SIGKILL of drover run at ${kills} random moments, each followed by a resume`, () => {
  it('JSONL sink: every record done exactly once in the ledger and the file; nothing finished is sent again', async () => {
    const fixture = await createFixture(rows, { latencyMs: 15, jitter: 0.5, fail500: 0.03, failDrop: 0.01, failReset: 0.01 });
    try {
      const spec = await fixture.writeSpecFile({ sink: { type: 'jsonl', path: 'out/results.jsonl' }, retry: { maxAttempts, baseDelayMs: 10, maxDelayMs: 100 } });
      const { killed, sentAfterFinish } = await killAndResume(fixture, spec);
      assert.equal(killed, kills, 'every kill landed on a running job');
      assert.deepEqual(sentAfterFinish, [], 'records finished before a kill were sent again');
      assertLedgerWhole(fixture);
      const text = await readFile(join(fixture.dir, 'out', 'results.jsonl'), 'utf8');
      assert.ok(text.endsWith('\n'), 'no torn last line');
      const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as { key: string; status: string });
      assert.equal(lines.length, rows, 'one line per record');
      assert.equal(new Set(lines.map((line) => line.key)).size, rows, 'no key twice');
      assert.ok(lines.every((line) => line.status === 'done'));
    } finally {
      await fixture.cleanup();
    }
  });

  it('SQLite table sink (in the source database): every record done exactly once in the ledger and the table', async () => {
    const fixture = await createFixture(rows, { latencyMs: 15, jitter: 0.5, fail500: 0.03, failDrop: 0.01, failReset: 0.01 });
    try {
      const spec = await fixture.writeSpecFile({ sink: { type: 'sqlite', table: 'sentiment' }, retry: { maxAttempts, baseDelayMs: 10, maxDelayMs: 100 } });
      const { killed, sentAfterFinish } = await killAndResume(fixture, spec);
      assert.equal(killed, kills, 'every kill landed on a running job');
      assert.deepEqual(sentAfterFinish, [], 'records finished before a kill were sent again');
      assertLedgerWhole(fixture);
      const db = new Database(fixture.dbPath, { readonly: true });
      try {
        const table = db.prepare("SELECT count(*) AS n, count(DISTINCT key) AS keys, sum(status = 'done') AS done FROM sentiment").get();
        assert.deepEqual(table, { n: rows, keys: rows, done: rows });
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      } finally {
        db.close();
      }
    } finally {
      await fixture.cleanup();
    }
  });
});
