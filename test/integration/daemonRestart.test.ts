import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DaemonClient } from '../../daemon/daemonClient/daemonClient';
import { readDiscovery } from '../../daemon/daemonClient/discovery';
import { ledgerPath } from '../../daemon/ledger/ledger';
import { startMockLlm } from '../../daemon/mockLlm/server';
import type { JobInfo } from '../../daemon/protocol/rpc';
import { waitFor } from '../support/cli';
import { startDaemon } from '../support/daemonHarness';
import { createFeedbackDb } from '../support/engineFixture';

/** Keys the ledger has as done, read the way another process would (read-only, WAL). */
function doneKeys(home: string, jobId: string): Set<string> {
  let db: Database.Database;
  try {
    db = new Database(ledgerPath(home, jobId), { readonly: true, fileMustExist: true });
  } catch {
    return new Set(); // no ledger yet
  }
  try {
    return new Set((db.prepare("SELECT key FROM records WHERE status = 'done'").all() as { key: string }[]).map((row) => row.key));
  } catch {
    return new Set(); // no tables yet
  } finally {
    db.close();
  }
}

function ledgerStatus(home: string, jobId: string): { status: string; statusReason: string | null } {
  const db = new Database(ledgerPath(home, jobId), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT status, status_reason AS statusReason FROM job').get() as { status: string; statusReason: string | null };
  } finally {
    db.close();
  }
}

function spec(dir: string, baseUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'feedback',
    source: { type: 'sqlite', path: join(dir, 'feedback.db'), table: 'feedback', key: 'id' },
    prompt: { template: '{{text}}' },
    model: 'gpt-4.1-mini',
    provider: { baseUrl },
    cache: false,
    limits: { concurrency: 4 },
    retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 100 },
    sink: { type: 'jsonl', path: join(dir, 'out', 'results.jsonl') },
    ...extra,
  };
}

async function waitForStatus(client: DaemonClient, jobId: string, done: (info: JobInfo) => boolean, what: string): Promise<JobInfo> {
  let last: JobInfo | undefined;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    last = (await client.call('job.get', { jobId })).info;
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

async function sinkKeys(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, 'out', 'results.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'), 'no torn last line');
  return text.trimEnd().split('\n').map((line) => (JSON.parse(line) as { key: string }).key);
}

describe('the daemon across restarts', () => {
  it('after SIGKILL mid-job, the next daemon resumes the job at once and every record ends done exactly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-daemon-kill-'));
    const mock = await startMockLlm({ latencyMs: 60 });
    const home = join(dir, 'state');
    try {
      createFeedbackDb(join(dir, 'feedback.db'), 3000);
      const first = await startDaemon(home);
      const client = await first.connect();
      await client.call('job.start', { spec: spec(dir, mock.url) });
      await waitFor(() => doneKeys(home, 'feedback').size >= 600, 60_000, '600 records done');
      await first.stop('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');

      const finishedBefore = doneKeys(home, 'feedback');
      const countsBefore = mock.recordCounts();
      assert.ok(finishedBefore.size < 3000, 'killed mid-run');
      assert.equal(ledgerStatus(home, 'feedback').status, 'running', 'the ledger says running: a crash');

      const second = await startDaemon(home);
      try {
        const again = await second.connect();
        const info = await waitForStatus(again, 'feedback', (job) => job.status === 'done' && !job.active, 'the resumed job to finish');
        assert.deepEqual(info.records, { total: 3000, totalExact: true, done: 3000, failed: 0 });
        const countsAfter = mock.recordCounts();
        for (const key of finishedBefore) assert.equal(countsAfter[key], countsBefore[key], `record ${key} was sent again`);
        assert.equal(Object.keys(countsAfter).length, 3000);
        const keys = await sinkKeys(dir);
        assert.equal(keys.length, 3000, 'each record once in the sink');
        assert.equal(new Set(keys).size, 3000);
        await again.close();
      } finally {
        await second.stop();
      }
    } finally {
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('SIGTERM lets requests in flight finish, pauses the job, removes daemon.json and exits 0; the next daemon resumes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-daemon-term-'));
    const mock = await startMockLlm({ latencyMs: 300 });
    const home = join(dir, 'state');
    try {
      createFeedbackDb(join(dir, 'feedback.db'), 1500);
      const first = await startDaemon(home);
      const client = await first.connect();
      const closed = new Promise<string>((resolve) => client.onClose(resolve));
      const states: string[] = [];
      client.on('job.state', (state) => states.push(`${state.status}${state.active ? ' (active)' : ''}`));
      await client.call('job.start', { spec: spec(dir, mock.url) });
      await waitFor(() => doneKeys(home, 'feedback').size >= 100 && mock.stats().inFlight > 0, 60_000, 'requests in flight');

      const { code } = await first.stop('SIGTERM');
      assert.equal(code, 0, first.stderr());
      assert.equal(mock.stats().inFlight, 0, 'nothing left in flight');
      assert.equal(mock.stats().requests.byStatus['200'], mock.stats().requests.total, 'every request was answered, none cut off');
      assert.equal(readDiscovery(home), null, 'daemon.json removed');
      assert.match(await closed, /1001/, 'clients are told the daemon is going away');
      assert.deepEqual(states.at(-1), 'paused', 'clients heard the job pause before the socket closed');
      const paused = ledgerStatus(home, 'feedback');
      assert.equal(paused.status, 'paused');
      assert.match(paused.statusReason ?? '', /daemon stopped/);
      const doneAtShutdown = doneKeys(home, 'feedback').size;
      assert.ok(doneAtShutdown < 1500);

      const second = await startDaemon(home);
      try {
        const again = await second.connect();
        const info = await waitForStatus(again, 'feedback', (job) => job.status === 'done' && !job.active, 'the job to resume and finish');
        assert.equal(info.records.done, 1500);
        assert.ok(Object.values(mock.recordCounts()).every((count) => count === 1), 'a drained shutdown sends no record twice');
        assert.equal((await sinkKeys(dir)).length, 1500);
        await again.close();
      } finally {
        await second.stop();
      }
    } finally {
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a job whose key came from a client comes back paused after a crash, and resumes when a client hands the key again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-daemon-keyed-'));
    const secret = 'sk-drover-restart-1b3d5f7h9j1l3n5p7r9t1v3x5z7';
    // Not an address the engine lets go without a key (see daemonJobs.test.ts).
    const mock = await startMockLlm({ apiKey: secret, latencyMs: 60, host: '127.0.0.2' });
    const home = join(dir, 'state');
    try {
      createFeedbackDb(join(dir, 'feedback.db'), 2000);
      const keyed = spec(dir, mock.url, { provider: { baseUrl: mock.url, apiKeyEnv: 'DROVER_TEST_KEY_NOT_SET' } });
      const first = await startDaemon(home);
      const client = await first.connect();
      await client.call('job.start', { spec: keyed, secrets: { [mock.url]: secret } });
      await waitFor(() => doneKeys(home, 'feedback').size >= 300, 60_000, '300 records done');
      await first.stop('SIGKILL');

      const second = await startDaemon(home);
      try {
        const again = await second.connect();
        const info = await waitForStatus(again, 'feedback', (job) => job.status === 'paused', 'the job to come back paused');
        assert.equal(info.active, false);
        assert.match(info.statusReason ?? '', /API key/);
        await again.call('job.resume', { jobId: 'feedback', secrets: { [mock.url]: secret } });
        const done = await waitForStatus(again, 'feedback', (job) => job.status === 'done' && !job.active, 'the job to finish');
        assert.equal(done.records.done, 2000);
        await again.close();
      } finally {
        await second.stop();
      }
      const entries = await readdir(home, { withFileTypes: true, recursive: true });
      for (const entry of entries.filter((item) => item.isFile())) {
        const bytes = await readFile(join(entry.parentPath, entry.name));
        assert.equal(bytes.includes(secret), false, `${entry.name} holds the key`);
      }
    } finally {
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
