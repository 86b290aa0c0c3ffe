// Transport faults between the engine and its provider: through the fault proxy in front of
// the mock LLM (refused, reset, black hole, late headers, trickled, stalled, cut and
// half-open connections) and from a scripted provider (HTML, invalid JSON, no choices, a
// 100 MB body). A fault that clears must end with every record done; one that never clears
// must pause the job with a message that says what happened, failing no record for it.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { JobRunner } from '../../daemon/pipeline/jobRunner';
import type { JobSpecInput } from '../../daemon/spec/jobSpec';
import { waitFor } from '../support/cli';
import { createFixture, type Fixture } from '../support/engineFixture';
import { startFaultProxy, type FaultMode, type FaultProxy } from '../support/faultProxy';
import { startScriptedProvider } from './scriptedProvider';

const rows = 400;

function jobSpec(fixture: Fixture, baseUrl: string, provider: Partial<NonNullable<JobSpecInput['provider']>> = {}) {
  return fixture.spec({
    cache: false,
    provider: { baseUrl, connectTimeoutMs: 300, headersTimeoutMs: 600, requestTimeoutMs: 2000, ...provider },
    limits: { concurrency: 4 },
    retry: { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 400 },
  });
}

function assertAllDoneOnce(fixture: Fixture, summary: Awaited<ReturnType<JobRunner['run']>>): void {
  assert.equal(summary.status, 'done', summary.statusReason ?? '');
  assert.deepEqual(summary.records, { total: rows, done: rows, failed: 0 });
  const finished = [...fixture.ledger().finished()];
  assert.equal(finished.length, rows);
  for (const row of finished) assert.ok(row.attempts <= 6, `record ${row.key}: ${row.attempts} attempts`);
}

/**
 * Runs the job through the proxy; once some answers have come back, the proxy goes into
 * `mode` until `clearWhen` holds, then lets everything through again.
 */
async function throughFault(mode: FaultMode, clearWhen: (proxy: FaultProxy, since: number) => boolean, provider: Partial<NonNullable<JobSpecInput['provider']>> = {}) {
  // Slow enough answers that most of the job is still ahead when the fault begins.
  const fixture = await createFixture(rows, { latencyMs: 150 });
  const proxy = await startFaultProxy({ host: '127.0.0.1', port: fixture.mock.port });
  try {
    const run = new JobRunner(jobSpec(fixture, `http://127.0.0.1:${proxy.port}/v1`, provider), { stateDir: fixture.stateDir }).run();
    await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= 40, 30_000, 'the first answers');
    await proxy.setMode(mode);
    proxy.resetStats();
    const since = Date.now();
    await waitFor(() => clearWhen(proxy, since), 30_000, `the ${mode.kind} fault to be met`);
    await proxy.setMode({ kind: 'pass' });
    const summary = await run;
    return { fixture, proxy, summary, errors: fixture.ledger().errorsByClass() };
  } catch (error) {
    await proxy.close();
    await fixture.cleanup();
    throw error;
  }
}

async function close(parts: { fixture: Fixture; proxy: FaultProxy }): Promise<void> {
  await parts.proxy.close();
  await parts.fixture.cleanup();
}

const errorClasses = (errors: { errorClass: string }[]) => errors.map((error) => error.errorClass);

describe('transport faults through the fault proxy', () => {
  it('connection refused for a while: the records end done once the endpoint listens again', async () => {
    const parts = await throughFault({ kind: 'refuse' }, (_proxy, since) => Date.now() - since > 1500);
    try {
      assertAllDoneOnce(parts.fixture, parts.summary);
      assert.ok(errorClasses(parts.errors).includes('connection_refused'), JSON.stringify(parts.errors));
    } finally {
      await close(parts);
    }
  });

  it('connection refused from the first request on (a wrong URL, most often): the job pauses at once, failing no record', async () => {
    const fixture = await createFixture(rows, { latencyMs: 5 });
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: fixture.mock.port });
    try {
      await proxy.setMode({ kind: 'refuse' });
      const summary = await new JobRunner(jobSpec(fixture, `http://127.0.0.1:${proxy.port}/v1`), { stateDir: fixture.stateDir }).run();
      assert.equal(summary.status, 'paused');
      assert.match(summary.statusReason ?? '', new RegExp(`127\\.0\\.0\\.1:${proxy.port}.*ECONNREFUSED.*resume`, 's'));
      assert.deepEqual(summary.records, { total: rows, done: 0, failed: 0 });
      for (const row of fixture.ledger().finished()) assert.fail(`record ${row.key} finished: ${row.error}`);
    } finally {
      await proxy.close();
      await fixture.cleanup();
    }
  });

  it('an endpoint that answered before and then fails every request for longer than the outage allowance: paused, no record failed', async () => {
    const fixture = await createFixture(rows, { latencyMs: 5 });
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: fixture.mock.port });
    try {
      const runner = new JobRunner(jobSpec(fixture, `http://127.0.0.1:${proxy.port}/v1`), { stateDir: fixture.stateDir, endpointDownAfterMs: 1500 });
      const run = runner.run();
      await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= 40, 30_000, 'the first answers');
      const downAt = Date.now();
      await proxy.setMode({ kind: 'refuse' });
      const summary = await run;
      assert.ok(Date.now() - downAt >= 1500, 'the outage was waited out for the allowance first');
      assert.equal(summary.status, 'paused');
      assert.match(summary.statusReason ?? '', /failed \d+ requests in a row.*ECONNREFUSED.*resume it when the endpoint is back/s);
      assert.equal(summary.records.failed, 0);
      for (const row of fixture.ledger().finished()) assert.equal(row.status, 'done');
    } finally {
      await proxy.close();
      await fixture.cleanup();
    }
  });

  it('a black hole (SYNs unanswered): the connect timeout fires, and the records end done when it clears', async () => {
    const parts = await throughFault({ kind: 'blackHole' }, (_proxy, since) => Date.now() - since > 2000);
    try {
      assertAllDoneOnce(parts.fixture, parts.summary);
      assert.ok(errorClasses(parts.errors).includes('connect_timeout'), JSON.stringify(parts.errors));
    } finally {
      await close(parts);
    }
  });

  it('connections reset as soon as a request goes out: retried, then done', async () => {
    // Resets back the engine off; on a busy machine a dozen may take a while, a few are enough.
    const parts = await throughFault({ kind: 'reset' }, (proxy, since) => proxy.stats().connections >= 12 || (Date.now() - since > 5000 && proxy.stats().connections >= 3));
    try {
      assertAllDoneOnce(parts.fixture, parts.summary);
      assert.ok(errorClasses(parts.errors).includes('connection_reset'), JSON.stringify(parts.errors));
    } finally {
      await close(parts);
    }
  });

  it('headers that never come: the headers timeout fires, and the records end done when answers come again', async () => {
    const parts = await throughFault({ kind: 'delayResponse', ms: Number.POSITIVE_INFINITY }, (proxy) => proxy.stats().connections >= 8);
    try {
      assertAllDoneOnce(parts.fixture, parts.summary);
      assert.ok(errorClasses(parts.errors).includes('headers_timeout'), JSON.stringify(parts.errors));
    } finally {
      await close(parts);
    }
  });

  it('a body trickling at 1 byte/s is cut off by the request deadline, not waited for', async () => {
    const parts = await throughFault({ kind: 'trickle', bytesPerSecond: 1 }, (proxy) => proxy.stats().connections >= 6, { requestTimeoutMs: 1500, headersTimeoutMs: 5000 });
    try {
      assertAllDoneOnce(parts.fixture, parts.summary);
      const deadline = parts.errors.find((error) => error.errorClass === 'deadline');
      assert.ok(deadline, JSON.stringify(parts.errors));
      assert.match(deadline.sampleMessage, /1500 ms \(provider\.requestTimeoutMs\)/);
    } finally {
      await close(parts);
    }
  });

  it('a body that stalls after its first bytes: the body timeout fires, then done', async () => {
    const parts = await throughFault({ kind: 'stall', afterBodyBytes: 40 }, (proxy) => proxy.stats().connections >= 8);
    try {
      assertAllDoneOnce(parts.fixture, parts.summary);
      assert.ok(errorClasses(parts.errors).includes('body_timeout'), JSON.stringify(parts.errors));
    } finally {
      await close(parts);
    }
  });

  it('a connection cut in the middle of the body: retried, then done', async () => {
    const parts = await throughFault({ kind: 'cut', afterBodyBytes: 100 }, (proxy) => proxy.stats().connections >= 8);
    try {
      assertAllDoneOnce(parts.fixture, parts.summary);
      assert.ok(errorClasses(parts.errors).includes('connection_reset'), JSON.stringify(parts.errors));
    } finally {
      await close(parts);
    }
  });

  it('half-open connections (the far end vanished without a FIN): requests on them time out, new connections work', async () => {
    const fixture = await createFixture(rows, { latencyMs: 5 });
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: fixture.mock.port });
    try {
      const run = new JobRunner(jobSpec(fixture, `http://127.0.0.1:${proxy.port}/v1`), { stateDir: fixture.stateDir }).run();
      await waitFor(() => Object.keys(fixture.mock.recordCounts()).length >= 40, 30_000, 'some answers on kept-alive connections');
      await proxy.setMode({ kind: 'halfOpen' });
      await waitFor(() => fixture.mock.stats().inFlight === 0 && proxy.stats().bytesUp > 0, 30_000, 'requests sent into the dead connections');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await proxy.setMode({ kind: 'pass' });
      const summary = await run;
      assertAllDoneOnce(fixture, summary);
      assert.ok(errorClasses(fixture.ledger().errorsByClass()).includes('headers_timeout'));
    } finally {
      await proxy.close();
      await fixture.cleanup();
    }
  });
});

/** A provider that misbehaves in one way for its first `badCalls` requests, then answers. */
async function withBadAnswers(badCalls: number, misbehave: (response: ServerResponse) => void, body: (fixture: Fixture, provider: Awaited<ReturnType<typeof startScriptedProvider>>) => Promise<void>) {
  const fixture = await createFixture(rows);
  const provider = await startScriptedProvider((call, response, scripted) => {
    if (call.index < badCalls) misbehave(response);
    else scripted.answer(call, response);
  });
  try {
    await body(fixture, provider);
  } finally {
    await provider.close();
    await fixture.cleanup();
  }
}

const html = '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>';
const badBodies: [string, string, string, RegExp][] = [
  ['HTTP 200 with an HTML page', 'text/html', html, /body is not JSON: <!DOCTYPE html>/],
  ['HTTP 200 with invalid JSON', 'application/json', '{"id":"chatcmpl-1","choices":[{"message":{"content":"{\\"resu', /body is not JSON/],
  ['HTTP 200 with JSON that has no choices', 'application/json', '{"id":"chatcmpl-1","object":"chat.completion","usage":{"prompt_tokens":5}}', /body has no choices/],
];

describe('bodies that are not an answer', () => {
  for (const [name, type, text, reason] of badBodies) {
    const send = (response: ServerResponse) => {
      response.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
      response.end(text);
    };

    it(`${name}: retried, and every record ends done once the answers are right`, async () => {
      await withBadAnswers(6, send, async (fixture, provider) => {
        const summary = await new JobRunner(jobSpec(fixture, provider.url), { stateDir: fixture.stateDir }).run();
        assertAllDoneOnce(fixture, summary);
        const error = fixture.ledger().errorsByClass().find((entry) => entry.errorClass === 'bad_response');
        assert.match(error?.sampleMessage ?? '', reason);
      });
    });

    it(`${name} every time: the job pauses with that reason and fails no record`, async () => {
      await withBadAnswers(Number.POSITIVE_INFINITY, send, async (fixture, provider) => {
        const summary = await new JobRunner(jobSpec(fixture, provider.url), { stateDir: fixture.stateDir }).run();
        assert.equal(summary.status, 'paused');
        assert.match(summary.statusReason ?? '', reason);
        assert.equal(summary.records.failed, 0);
      });
    });
  }

  it('a 100 MB response is cut off at provider.maxResponseBytes: little is read, memory stays flat, the records end done', async () => {
    const megabyte = Buffer.alloc(1024 * 1024, 'x');
    let written = 0;
    let hugeSent = 0;
    const fixture = await createFixture(rows);
    const provider = await startScriptedProvider(async (call, response, scripted) => {
      if (call.index !== 0) return scripted.answer(call, response);
      hugeSent += 1;
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 * megabyte.length });
      response.write('{"choices":[{"message":{"content":"');
      for (let chunk = 0; chunk < 100 && !response.destroyed; chunk += 1) {
        if (!response.write(megabyte)) await new Promise((resolve) => response.once('drain', resolve).once('close', resolve));
        if (!response.destroyed) written += megabyte.length;
      }
      response.end();
    });
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
    try {
      const spec = jobSpec(fixture, provider.url, { maxResponseBytes: 2 * 1024 * 1024 });
      const summary = await new JobRunner(spec, { stateDir: fixture.stateDir }).run();
      assertAllDoneOnce(fixture, summary);
      assert.equal(hugeSent, 1);
      const error = fixture.ledger().errorsByClass().find((entry) => entry.errorClass === 'response_too_large');
      assert.match(error?.sampleMessage ?? '', /exceeded 2097152 bytes \(provider\.maxResponseBytes\)/);
      // The engine stopped reading at 2 MB and closed the connection; what the server got
      // out before noticing is its socket buffers, not the 100 MB.
      assert.ok(written < 20 * megabyte.length, `the server wrote ${written} bytes before the engine hung up`);
      assert.ok(peakRss - rssBefore < 60 * megabyte.length, `RSS grew by ${(peakRss - rssBefore) / megabyte.length} MB`);
    } finally {
      clearInterval(sampler);
      await provider.close();
      await fixture.cleanup();
    }
  });
});
