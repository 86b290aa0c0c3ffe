// The Jobs model against a real daemon and the mock LLM (real HTTP), under node's test
// runner: jobs started by anyone appear, their progress and error classes follow, jobs the
// extension runs for itself stay hidden, and a job deleted elsewhere goes.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMockLlm, type MockLlmServer } from '../../daemon/mockLlm/server';
import { DaemonConnection } from '../../extension/daemon/daemonConnection';
import { JobsModel } from '../../extension/jobs/jobsModel';
import { isPreviewJob } from '../../extension/preview/previewRun';
import { waitFor } from '../support/cli';
import { stopDaemon } from '../support/codeServer';
import { daemonPath } from '../support/daemonHarness';

const records = 60;

describe('JobsModel', () => {
  let scratch: string;
  let stateDir: string;
  let mock: MockLlmServer;
  let connection: DaemonConnection;
  let model: JobsModel;
  const problems: string[] = [];
  let jobChanges = 0;
  let listChanges = 0;

  const spec = (name: string) => ({
    name,
    source: { type: 'file', path: join(scratch, 'reviews.jsonl'), key: 'id' },
    prompt: { template: '{{text}}' },
    provider: { baseUrl: mock.url },
    batching: { recordsPerRequest: 5 },
    limits: { concurrency: 2 },
    retry: { maxAttempts: 10, baseDelayMs: 5, maxDelayMs: 20 },
  });

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-jobs-model-'));
    stateDir = join(scratch, 'home');
    const lines = Array.from({ length: records }, (_, index) => JSON.stringify({ id: index + 1, text: index % 2 ? 'great, love it' : 'awful, broken' }));
    await writeFile(join(scratch, 'reviews.jsonl'), `${lines.join('\n')}\n`);
    mock = await startMockLlm({ latencyMs: 15, fail500: 0.2, seed: 3 });
    connection = new DaemonConnection({
      stateDir: () => stateDir,
      clientName: 'jobsModel.test',
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      launchPlan: async (dir) => ({ command: process.execPath, args: [daemonPath, '--state-dir', dir], env: process.env }),
    });
    model = new JobsModel(connection, { isHidden: isPreviewJob, onProblem: (message) => problems.push(message), errorRefreshMs: 100 });
    model.onDidChangeJob(() => (jobChanges += 1));
    model.onDidChangeJobs(() => (listChanges += 1));
  });

  after(async () => {
    model?.dispose();
    await connection?.dispose();
    await stopDaemon(stateDir);
    await mock?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('lists nothing before it loads, and an empty list after', async () => {
    assert.equal(model.isLoaded, false);
    await model.load();
    assert.equal(model.isLoaded, true);
    assert.deepEqual(model.jobs(), []);
    assert.equal(listChanges, 1);
  });

  it('follows a job another client starts, to its end, with progress, history and error classes', async () => {
    // Another client: the CLI or a second window, on its own connection.
    const other = await connection.client();
    await other.call('job.start', { spec: spec('from-elsewhere') });
    // `active` turns false a moment after the status says done (the worker is still closing).
    const finished = () => model.get('from-elsewhere')?.info.status === 'done' && model.get('from-elsewhere')?.info.active === false;
    const entry = await waitFor(finished, 30_000, 'the job to finish').then(() => model.get('from-elsewhere'));
    assert.ok(entry);
    assert.equal(entry.info.records.done, records);
    assert.equal(entry.info.active, false);
    assert.ok(jobChanges > 0, 'progress should have been reported');
    assert.ok(entry.history.length > 0, 'the chart history should have samples');
    await waitFor(() => (model.get('from-elsewhere')?.errors.length ?? 0) > 0, 10_000, 'the error classes to be read');
    assert.ok(model.get('from-elsewhere')?.errors.every((error) => error.count > 0));
    assert.deepEqual(problems, []);
  });

  it('keeps the jobs of record previews out of the list', async () => {
    const client = await connection.client();
    await client.call('job.start', { spec: spec('drover-preview-abc123') });
    await client.call('job.subscribe', { jobId: 'drover-preview-abc123' });
    // Listed by the daemon (its ledger exists), yet not by the model.
    const deadline = Date.now() + 10_000;
    while (!(await client.call('job.list', {})).jobs.some((job) => job.jobId === 'drover-preview-abc123')) {
      assert.ok(Date.now() < deadline, 'the daemon should list the preview job');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(
      model.jobs().map((job) => job.info.jobId),
      ['from-elsewhere'],
    );
  });

  it('drops a job deleted by another client', async () => {
    const client = await connection.client();
    const before = listChanges;
    await client.call('job.delete', { jobId: 'from-elsewhere' });
    await waitFor(() => model.get('from-elsewhere') === undefined, 10_000, 'the job to go');
    assert.ok(listChanges > before);
  });
});
