import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { readDiscovery } from '../../daemon/daemonClient/discovery';
import { rpcErrorCode } from '../../daemon/protocol/rpc';
import { waitFor } from '../support/cli';
import { spawnDaemon, startDaemon, type RunningDaemon } from '../support/daemonHarness';

/** Opens a socket with these headers; resolves with 101 on success or the refusal's HTTP status. */
function upgrade(port: number, options: { path?: string; headers?: Record<string, string>; origin?: string }): Promise<{ status: number; headers: Record<string, unknown>; body: string; socket?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/'}`, { headers: options.headers, origin: options.origin });
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    socket.on('open', () => resolve({ status: 101, headers: {}, body: '', socket }));
    socket.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

function plainRequest(port: number, method: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const sent = request({ host: '127.0.0.1', port, method, path: '/', headers }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    sent.on('error', reject);
    sent.end();
  });
}

function accessControlHeaders(headers: Record<string, unknown>): string[] {
  return Object.keys(headers).filter((name) => name.toLowerCase().startsWith('access-control-'));
}

/** Sends raw text on an authenticated socket and resolves with the first answer. */
function exchange(socket: WebSocket, text: string): Promise<{ id: unknown; error?: { code: number; message: string; data?: unknown }; result?: unknown }> {
  return new Promise((resolve) => {
    socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()) as { id: unknown }));
    socket.send(text);
  });
}

describe('the daemon refuses everything but an authenticated local client', () => {
  let home: string;
  let daemon: RunningDaemon;
  let port: number;
  let auth: Record<string, string>;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'drover-daemon-sec-'));
    daemon = await startDaemon(join(home, 'state'));
    port = daemon.discovery.port;
    auth = { authorization: `Bearer ${daemon.discovery.token}` };
  });

  after(async () => {
    await daemon.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('accepts the token from daemon.json and answers hello', async () => {
    const opened = await upgrade(port, { headers: auth });
    assert.equal(opened.status, 101);
    const answer = await exchange(opened.socket as WebSocket, '{"jsonrpc":"2.0","id":1,"method":"hello"}');
    assert.equal((answer.result as { pid: number }).pid, daemon.child.pid);
    opened.socket?.close();
  });

  it('no token: 401', async () => {
    const refused = await upgrade(port, {});
    assert.equal(refused.status, 401);
    assert.deepEqual(accessControlHeaders(refused.headers), []);
  });

  it('wrong token: 401', async () => {
    const wrong = `${daemon.discovery.token.slice(0, -1)}${daemon.discovery.token.endsWith('A') ? 'B' : 'A'}`;
    assert.equal((await upgrade(port, { headers: { authorization: `Bearer ${wrong}` } })).status, 401);
    assert.equal((await upgrade(port, { headers: { authorization: 'Bearer short' } })).status, 401);
  });

  it('token in the query string: refused (400), alone or beside a valid header', async () => {
    const token = daemon.discovery.token;
    assert.equal((await upgrade(port, { path: `/?token=${token}` })).status, 400);
    assert.equal((await upgrade(port, { path: `/?access_token=${token}`, headers: auth })).status, 400);
  });

  it('Origin: http://evil.example → 403, even with the right token', async () => {
    const refused = await upgrade(port, { headers: auth, origin: 'http://evil.example' });
    assert.equal(refused.status, 403);
    assert.deepEqual(accessControlHeaders(refused.headers), []);
  });

  it('Host: evil.example:<port> → 403, even with the right token', async () => {
    assert.equal((await upgrade(port, { headers: { ...auth, host: `evil.example:${port}` } })).status, 403);
  });

  it('plain HTTP gets 404 and never a CORS header', async () => {
    for (const method of ['GET', 'POST', 'OPTIONS']) {
      const answer = await plainRequest(port, method, { origin: 'http://evil.example', 'access-control-request-method': 'GET', ...auth });
      assert.equal(answer.status, 404, method);
      assert.deepEqual(accessControlHeaders(answer.headers), [], method);
    }
  });

  it('an oversized frame closes that socket with 1009; the daemon lives on', async () => {
    const opened = await upgrade(port, { headers: auth });
    const socket = opened.socket as WebSocket;
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('error', () => undefined);
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hello', params: { client: 'x'.repeat(5 * 1024 * 1024) } }));
    assert.equal(await closed, 1009);
    const again = await upgrade(port, { headers: auth });
    const answer = await exchange(again.socket as WebSocket, '{"jsonrpc":"2.0","id":2,"method":"hello"}');
    assert.equal((answer.result as { pid: number }).pid, daemon.child.pid);
    again.socket?.close();
  });

  it('malformed JSON → -32700, unknown method → -32601, bad params → -32602 with the issues, bad envelope → -32600', async () => {
    const opened = await upgrade(port, { headers: auth });
    const socket = opened.socket as WebSocket;
    assert.equal((await exchange(socket, '{"jsonrpc": "2.0", "id": 1, "method": ')).error?.code, rpcErrorCode.parseError);
    const unknown = await exchange(socket, '{"jsonrpc":"2.0","id":2,"method":"job.explode"}');
    assert.deepEqual([unknown.id, unknown.error?.code], [2, rpcErrorCode.methodNotFound]);
    const bad = await exchange(socket, '{"jsonrpc":"2.0","id":3,"method":"results.page","params":{"jobId":"x","offset":-1}}');
    assert.equal(bad.error?.code, rpcErrorCode.invalidParams);
    assert.deepEqual((bad.error?.data as { issues: { path: unknown[] }[] }).issues.map((issue) => issue.path), [['offset']]);
    assert.equal((await exchange(socket, '{"id":4,"method":"hello"}')).error?.code, rpcErrorCode.invalidRequest);
    assert.equal((await exchange(socket, '{"jsonrpc":"2.0","id":5,"method":"hello"}')).error, undefined, 'the socket still works');
    socket.close();
  });

  it('writes daemon.json with mode 0600 in a 0700 state directory, and the token has 256 bits', async () => {
    assert.equal((await stat(join(daemon.home, 'daemon.json'))).mode & 0o777, 0o600);
    assert.equal((await stat(daemon.home)).mode & 0o777, 0o700);
    assert.equal(Buffer.from(daemon.discovery.token, 'base64url').length, 32);
  });

  it('a second daemon on the same state directory finds the live one and exits 0', async () => {
    const second = spawnDaemon(daemon.home);
    assert.equal((await second.exited).code, 0, second.stderr());
    assert.match(second.stderr(), /already serves/);
    assert.equal(readDiscovery(daemon.home)?.pid, daemon.child.pid, 'the live daemon keeps its discovery file');
  });
});

describe('the daemon process', () => {
  it('replaces a stale discovery file, and leaves on its own when idle (exit 0, file removed)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'drover-daemon-stale-'));
    try {
      const state = join(home, 'state');
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      const stale = { pid: Number(dead.stdout), port: 1, token: 'x'.repeat(43), protocolVersion: 1, daemonVersion: '0.0.0', startedAt: new Date(0).toISOString() };
      mkdirSync(state, { recursive: true, mode: 0o700 });
      writeFileSync(join(state, 'daemon.json'), JSON.stringify(stale), { mode: 0o600 });

      const daemon = await startDaemon(state, ['--idle-exit-minutes', '0.02']);
      assert.notEqual(daemon.discovery.pid, stale.pid);
      assert.notEqual(daemon.discovery.token, stale.token);
      const { code } = await daemon.exited;
      assert.equal(code, 0, daemon.stderr());
      assert.equal(readDiscovery(state), null, 'the discovery file is removed');
      assert.match(daemon.stderr(), /stopping \(idle\)/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('listens on the --port given, and says so plainly when that port is taken', async () => {
    const home = await mkdtemp(join(tmpdir(), 'drover-daemon-port-'));
    const blocker = createServer();
    try {
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const taken = (blocker.address() as AddressInfo).port;
      const refused = spawnDaemon(join(home, 'a'), ['--port', String(taken)]);
      assert.equal((await refused.exited).code, 70);
      assert.match(refused.stderr(), new RegExp(`port ${taken} on 127.0.0.1 is already in use; pick another with --port`));
      await new Promise((resolve) => blocker.close(resolve));

      const daemon = await startDaemon(join(home, 'b'), ['--port', String(taken)]);
      assert.equal(daemon.discovery.port, taken);
      const client = await daemon.connect();
      assert.equal((await client.call('hello', {})).pid, daemon.child.pid);
      await client.close();
      assert.equal((await daemon.stop()).code, 0);
      const bad = spawnDaemon(join(home, 'c'), ['--port', 'eighty']);
      assert.equal((await bad.exited).code, 2);
      assert.match(bad.stderr(), /--port needs a port number/);
    } finally {
      if (blocker.listening) blocker.close();
      await rm(home, { recursive: true, force: true });
    }
  });

  it('does not leave while a client is connected, even when idle', async () => {
    const home = await mkdtemp(join(tmpdir(), 'drover-daemon-idle-'));
    try {
      const daemon = await startDaemon(join(home, 'state'), ['--idle-exit-minutes', '0.01']);
      const client = await daemon.connect();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(daemon.child.exitCode, null, 'still running with a client');
      assert.equal((await client.call('hello', {})).pid, daemon.child.pid);
      await client.close();
      await waitFor(() => daemon.child.exitCode !== null, 10_000, 'the idle daemon to leave');
      assert.equal(daemon.child.exitCode, 0);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
