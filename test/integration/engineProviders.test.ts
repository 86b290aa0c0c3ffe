import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startMockLlm } from '../../daemon/mockLlm/server';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import { waitFor } from '../support/cli';
import { createFixture } from '../support/engineFixture';
import { closedPort } from '../support/ports';

describe('engine: endpoints and answer forms', () => {
  it('fails over to the fallback while the primary is down, probes it, and takes it back', async () => {
    const fixture = await createFixture(3000, { latencyMs: 40 });
    const port = await closedPort();
    const logs: string[] = [];
    let primary: Awaited<ReturnType<typeof startMockLlm>> | undefined;
    try {
      const spec = fixture.spec({
        cache: false,
        limits: { concurrency: 2 },
        provider: { baseUrl: `http://127.0.0.1:${port}/v1`, fallbacks: [{ baseUrl: fixture.mock.url }] },
      });
      const run = new JobRunner(spec, { stateDir: fixture.stateDir, probeIntervalMs: 200, listener: { log: (event) => logs.push(event.message) } }).run();
      await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= 400, 30_000, 'the fallback answering');
      primary = await startMockLlm({ port, latencyMs: 40 });
      const summary = await run;
      assert.equal(summary.status, 'done');
      assert.equal(summary.records.done, 3000);
      assert.ok(logs.some((line) => line.includes(`switching from http://127.0.0.1:${port}/v1`) && line.includes('failures in a row')), logs.join('\n'));
      assert.ok(logs.some((line) => line.includes('the primary endpoint answers again')), logs.join('\n'));
      const byPrimary = Object.keys(primary.recordCounts()).length;
      const byFallback = Object.keys(fixture.mock.recordCounts()).length;
      assert.ok(byPrimary > 0 && byFallback > 0, `primary ${byPrimary}, fallback ${byFallback}`);
      assert.equal(byPrimary + byFallback, 3000, 'every record answered once, by one of them');
    } finally {
      await primary?.close();
      await fixture.cleanup();
    }
  });

  it('pauses with a clear message when the only endpoint stays unreachable', async () => {
    const fixture = await createFixture(200);
    try {
      const port = await closedPort();
      const spec = fixture.spec({ provider: { baseUrl: `http://127.0.0.1:${port}/v1` }, limits: { concurrency: 4 } });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'paused');
      assert.match(summary.statusReason ?? '', /failed \d+ requests in a row.*ECONNREFUSED.*resume/s);
      assert.equal(summary.records.failed, 0, 'no record was failed for the endpoint being down');
    } finally {
      await fixture.cleanup();
    }
  });

  it('retries a truncated answer with room to finish, and works in json_object and prompt-only modes', async () => {
    const fixture = await createFixture(1000, { failTruncate: 0.2, seed: 5 });
    try {
      const truncated = await new JobRunner(fixture.spec({ cache: false }), { stateDir: fixture.stateDir }).run();
      assert.equal(truncated.records.done, 1000);
      assert.ok(fixture.mock.stats().faults.truncate > 0);
      assert.ok(fixture.ledger().errorsByClass().some((error) => error.errorClass === 'truncated'));
      for (const mode of ['json_object', 'none'] as const) {
        const summary = await new JobRunner(fixture.spec({ name: `mode-${mode}`, cache: false, provider: { baseUrl: fixture.mock.url, structuredOutput: mode } }), {
          stateDir: fixture.stateDir,
        }).run();
        assert.equal(summary.records.done, 1000, mode);
      }
    } finally {
      await fixture.cleanup();
    }
  });
});
