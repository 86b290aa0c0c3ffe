// The fault proxy itself, so that the engine's transport tests can be trusted: each mode, as
// a real HTTP client (undici, the engine's own) sees it, and a switch while running.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { startFaultProxy, type FaultMode, type FaultProxy } from '../support/faultProxy';

const body = 'x'.repeat(1000);
let server: Server;
let proxy: FaultProxy;
let requestsSeen = 0;

before(async () => {
  server = createServer((_request, response) => {
    requestsSeen += 1;
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy = await startFaultProxy({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
});

after(async () => {
  await proxy.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

interface Outcome {
  status?: number;
  length?: number;
  code?: string;
  ms: number;
}

/** One GET on a fresh connection (a fresh pool), as the engine's client makes it. */
async function get(pool = new Pool(`http://127.0.0.1:${proxy.port}`, { connect: { timeout: 300 }, headersTimeout: 700, bodyTimeout: 700 })): Promise<Outcome> {
  const started = Date.now();
  try {
    const response = await pool.request({ path: '/', method: 'GET' });
    const text = await response.body.text();
    return { status: response.statusCode, length: text.length, ms: Date.now() - started };
  } catch (error) {
    return { code: (error as { code?: string }).code ?? String(error), ms: Date.now() - started };
  } finally {
    await pool.destroy();
  }
}

async function inMode(mode: FaultMode): Promise<Outcome> {
  await proxy.setMode(mode);
  try {
    return await get();
  } finally {
    await proxy.setMode({ kind: 'pass' });
  }
}

describe('fault proxy', () => {
  it('passes requests through and counts connections and bytes', async () => {
    proxy.resetStats();
    for (let i = 0; i < 3; i += 1) assert.deepEqual({ ...(await get()), ms: 0 }, { status: 200, length: 1000, ms: 0 });
    const stats = proxy.stats();
    assert.equal(stats.connections, 3);
    assert.ok(stats.bytesDown >= 3 * 1000 && stats.bytesUp > 0, JSON.stringify(stats));
  });

  it('refuse: ECONNREFUSED; reset: ECONNRESET; black hole: the connect timeout fires', async () => {
    assert.equal((await inMode({ kind: 'refuse' })).code, 'ECONNREFUSED');
    assert.equal((await inMode({ kind: 'reset' })).code, 'ECONNRESET');
    const before = requestsSeen;
    const blackHole = await inMode({ kind: 'blackHole' });
    assert.equal(blackHole.code, 'UND_ERR_CONNECT_TIMEOUT');
    assert.equal(requestsSeen, before, 'nothing reached the server');
    assert.equal((await get()).status, 200, 'works again once the mode is cleared');
  });

  it('half-open: the request is swallowed and no answer ever comes', async () => {
    const before = requestsSeen;
    const outcome = await inMode({ kind: 'halfOpen' });
    assert.equal(outcome.code, 'UND_ERR_HEADERS_TIMEOUT');
    assert.equal(requestsSeen, before, 'nothing reached the server');
  });

  it('delays the answer, never sends it, trickles, cuts or stalls the body', async () => {
    const delayed = await inMode({ kind: 'delayResponse', ms: 300 });
    assert.equal(delayed.status, 200);
    assert.ok(delayed.ms >= 290, `answered after ${delayed.ms} ms`);
    assert.equal((await inMode({ kind: 'delayResponse', ms: Number.POSITIVE_INFINITY })).code, 'UND_ERR_HEADERS_TIMEOUT');
    const trickled = await inMode({ kind: 'trickle', bytesPerSecond: 1000 });
    assert.equal(trickled.length, 1000);
    assert.ok(trickled.ms >= 900, `1000 bytes at 1000 B/s took ${trickled.ms} ms`);
    assert.equal((await inMode({ kind: 'cut', afterBodyBytes: 10 })).code, 'UND_ERR_SOCKET');
    assert.equal((await inMode({ kind: 'stall', afterBodyBytes: 10 })).code, 'UND_ERR_BODY_TIMEOUT');
  });

  it('a switch reaches connections that are already open', async () => {
    const pool = new Pool(`http://127.0.0.1:${proxy.port}`, { headersTimeout: 700, pipelining: 1, connections: 1 });
    try {
      const first = await pool.request({ path: '/', method: 'GET' });
      await first.body.text();
      proxy.resetStats();
      await proxy.setMode({ kind: 'reset' });
      const second = await pool.request({ path: '/', method: 'GET' }).then(
        () => 'answered',
        (error: { code?: string }) => error.code,
      );
      assert.notEqual(second, 'answered', 'the kept-alive connection was reset');
      assert.equal(proxy.stats().bytesDown, 0);
    } finally {
      await proxy.setMode({ kind: 'pass' });
      await pool.destroy();
    }
  });
});
