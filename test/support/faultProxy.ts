// A TCP proxy that misbehaves on command, between the engine and a real server (the mock
// LLM, Postgres). The engine only ever sees real sockets: refused connections, resets, SYNs
// that are never answered, answers that are late, slow, cut or stalled, and connections
// whose far end has vanished. The mode can be switched while connections are open; it
// counts connections and bytes so tests can assert what went over the wire.
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export type FaultMode =
  /** Forward both ways. */
  | { kind: 'pass' }
  /** Nothing listens: new connections get ECONNREFUSED, open ones are reset. */
  | { kind: 'refuse' }
  /** Connections are reset (RST) as soon as the client sends anything; open ones at once. */
  | { kind: 'reset' }
  /** SYNs go unanswered (a connect timeout); open connections carry nothing until it clears. */
  | { kind: 'blackHole' }
  /** The server side is gone without a FIN: bytes are swallowed, nothing ever comes back. */
  | { kind: 'halfOpen' }
  /** Each answer's first byte is held this long (Infinity: headers that never come). */
  | { kind: 'delayResponse'; ms: number }
  /** Each answer's HTTP head passes, then its body trickles at this rate. */
  | { kind: 'trickle'; bytesPerSecond: number }
  /** Each answer's head and this many body bytes pass, then the connection is closed. */
  | { kind: 'cut'; afterBodyBytes: number }
  /** Each answer's head and this many body bytes pass, then nothing more; the connection stays open. */
  | { kind: 'stall'; afterBodyBytes: number };

export interface FaultProxyStats {
  /** Connections accepted since the start (or the last reset). */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Bytes from the clients to the server. */
  bytesUp: number;
  /** Bytes from the server delivered to the clients. */
  bytesDown: number;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  readonly mode: FaultMode;
  setMode(mode: FaultMode): Promise<void>;
  stats(): FaultProxyStats;
  resetStats(): void;
  close(): Promise<void>;
}

const headEnd = Buffer.from('\r\n\r\n');

/** One request/answer exchange on a connection, shaped by the mode it started under. */
class Exchange {
  private headSeen = false;
  private pending = Buffer.alloc(0);
  private bodyPassed = 0;
  private timer: NodeJS.Timeout | null = null;
  private stalled = false;
  private ended: (() => void) | null = null;
  private readonly startedAt = Date.now();

  constructor(
    private readonly mode: FaultMode,
    private readonly deliver: (bytes: Buffer) => void,
    private readonly closeBoth: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.stalled) return;
    switch (this.mode.kind) {
      case 'delayResponse':
        this.pending = Buffer.concat([this.pending, chunk]);
        this.schedule(Math.max(0, this.startedAt + this.mode.ms - Date.now()), () => this.flush());
        return;
      case 'trickle':
        this.pending = Buffer.concat([this.pending, this.passHead(chunk)]);
        this.schedule(1000 / this.mode.bytesPerSecond, () => this.drip());
        return;
      case 'cut':
      case 'stall':
        this.limitBody(this.passHead(chunk));
        return;
      default:
        this.deliver(chunk);
    }
  }

  /** The server closed its side: pass that on once what is held back has been delivered. */
  end(onEnd: () => void): void {
    if (this.stalled) return;
    this.ended = onEnd;
    this.endIfDelivered();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private endIfDelivered(): void {
    if (this.ended && this.pending.length === 0 && this.timer === null) this.ended();
  }

  /** Delivers the HTTP head at once; returns what follows it. */
  private passHead(chunk: Buffer): Buffer {
    if (this.headSeen) return chunk;
    const joined = Buffer.concat([this.pending, chunk]);
    const end = joined.indexOf(headEnd);
    if (end === -1) {
      this.pending = joined;
      return Buffer.alloc(0);
    }
    this.headSeen = true;
    this.pending = Buffer.alloc(0);
    this.deliver(joined.subarray(0, end + headEnd.length));
    return joined.subarray(end + headEnd.length);
  }

  private limitBody(body: Buffer): void {
    if (body.length === 0 || this.mode.kind !== 'cut' && this.mode.kind !== 'stall') return;
    const room = this.mode.afterBodyBytes - this.bodyPassed;
    const passed = body.subarray(0, Math.max(0, room));
    this.bodyPassed += passed.length;
    if (passed.length > 0) this.deliver(passed);
    if (this.bodyPassed < this.mode.afterBodyBytes) return;
    this.stalled = true;
    if (this.mode.kind === 'cut') this.closeBoth();
  }

  private schedule(ms: number, action: () => void): void {
    if (this.timer || !Number.isFinite(ms)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      action();
    }, ms);
  }

  private flush(): void {
    const bytes = this.pending;
    this.pending = Buffer.alloc(0);
    if (bytes.length > 0) this.deliver(bytes);
    this.endIfDelivered();
  }

  private drip(): void {
    if (this.mode.kind !== 'trickle') return;
    if (this.pending.length > 0) {
      this.deliver(this.pending.subarray(0, 1));
      this.pending = this.pending.subarray(1);
    }
    if (this.pending.length > 0) this.schedule(1000 / this.mode.bytesPerSecond, () => this.drip());
    else this.endIfDelivered();
  }
}

class ProxiedConnection {
  private readonly upstream: Socket;
  private exchange: Exchange | null = null;
  private answering = false;
  private frozen: 'blackHole' | 'halfOpen' | null = null;
  private readonly heldUp: Buffer[] = [];
  private readonly heldDown: Buffer[] = [];

  constructor(
    private readonly client: Socket,
    target: { host: string; port: number },
    private readonly proxy: FaultProxyImpl,
  ) {
    this.upstream = createConnection(target);
    for (const socket of [client, this.upstream]) {
      socket.on('error', () => this.destroy());
      socket.on('close', () => this.destroy());
    }
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    this.upstream.on('data', (chunk: Buffer) => this.fromServer(chunk));
    client.on('end', () => this.upstream.end());
    this.upstream.on('end', () => {
      if (this.frozen) return;
      if (this.exchange) this.exchange.end(() => client.end());
      else client.end();
    });
    this.apply(proxy.mode);
  }

  /** A mode switch reaches connections that are already open. */
  apply(mode: FaultMode): void {
    if (mode.kind === 'reset' || mode.kind === 'refuse') {
      this.reset();
      return;
    }
    if (mode.kind === 'blackHole' || mode.kind === 'halfOpen') {
      this.frozen = mode.kind;
      if (mode.kind === 'halfOpen') this.upstream.destroy();
      return;
    }
    if (this.frozen === 'blackHole') {
      // The network is back: what was in transit arrives now.
      this.frozen = null;
      for (const chunk of this.heldUp.splice(0)) this.fromClient(chunk);
      for (const chunk of this.heldDown.splice(0)) this.fromServer(chunk);
    }
  }

  private fromClient(chunk: Buffer): void {
    if (this.frozen === 'halfOpen') return;
    if (this.frozen === 'blackHole') {
      this.heldUp.push(chunk);
      return;
    }
    const mode = this.proxy.mode;
    if (mode.kind === 'reset') {
      this.reset();
      return;
    }
    if (this.answering || this.exchange === null) {
      // Client bytes after an answer began: the next request of a keep-alive connection.
      this.exchange?.stop();
      this.exchange = new Exchange(mode, (bytes) => this.toClient(bytes), () => this.closeBoth());
      this.answering = false;
    }
    this.proxy.countUp(chunk.length);
    if (!this.upstream.write(chunk)) {
      this.client.pause();
      this.upstream.once('drain', () => this.client.resume());
    }
  }

  private fromServer(chunk: Buffer): void {
    if (this.frozen === 'halfOpen') return;
    if (this.frozen === 'blackHole') {
      this.heldDown.push(chunk);
      return;
    }
    this.answering = true;
    this.exchange ??= new Exchange(this.proxy.mode, (bytes) => this.toClient(bytes), () => this.closeBoth());
    this.exchange.push(chunk);
  }

  private toClient(bytes: Buffer): void {
    if (this.client.destroyed) return;
    this.proxy.countDown(bytes.length);
    if (!this.client.write(bytes)) {
      this.upstream.pause();
      this.client.once('drain', () => this.upstream.resume());
    }
  }

  private closeBoth(): void {
    this.exchange?.stop();
    this.client.end();
    this.upstream.destroy();
  }

  private reset(): void {
    this.exchange?.stop();
    this.client.resetAndDestroy();
    this.upstream.destroy();
  }

  destroy(): void {
    if (this.frozen === 'halfOpen' && !this.client.destroyed) return; // the client keeps its dead connection
    this.exchange?.stop();
    this.client.destroy();
    this.upstream.destroy();
    this.proxy.forget(this);
  }

  /** Ends the connection for good (the proxy is closing). */
  kill(): void {
    this.frozen = null;
    this.exchange?.stop();
    this.client.destroy();
    this.upstream.destroy();
    this.proxy.forget(this);
  }
}

// Runs in a worker thread whose event loop is then blocked: nothing accepts on the listening
// socket, so once the kernel's accept queue (backlog 1) is full, new SYNs are dropped — a
// real black hole, which a proxy that accepts connections cannot imitate.
const blackHoleListener = `
const { workerData, parentPort } = require('node:worker_threads');
const server = require('node:net').createServer();
server.listen({ host: workerData.host, port: workerData.port, backlog: 1 }, () => {
  parentPort.postMessage('listening');
  Atomics.wait(workerData.release, 0, 0);
  process.exit(0);
});
server.on('error', (error) => { parentPort.postMessage(String(error)); process.exit(1); });
`;

class BlackHole {
  private readonly release = new Int32Array(new SharedArrayBuffer(4));
  private readonly fillers: Socket[] = [];
  private worker: Worker | null = null;

  async open(host: string, port: number): Promise<void> {
    this.worker = new Worker(blackHoleListener, { eval: true, workerData: { host, port, release: this.release } });
    const [message] = (await once(this.worker, 'message')) as [string];
    if (message !== 'listening') throw new Error(`the black hole could not listen on ${port}: ${message}`);
    // Fill the accept queue with connections of our own until one no longer completes.
    for (let tries = 0; tries < 16; tries += 1) {
      const socket = createConnection({ host, port });
      socket.on('error', () => undefined);
      this.fillers.push(socket);
      const connected = await Promise.race([
        once(socket, 'connect').then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 150)),
      ]);
      if (!connected) return;
    }
    throw new Error('the black hole accept queue never filled');
  }

  async close(): Promise<void> {
    for (const socket of this.fillers.splice(0)) socket.destroy();
    if (!this.worker) return;
    const exited = once(this.worker, 'exit');
    Atomics.store(this.release, 0, 1);
    Atomics.notify(this.release, 0);
    await exited;
    this.worker = null;
  }
}

class FaultProxyImpl implements FaultProxy {
  mode: FaultMode = { kind: 'pass' };
  private readonly server: Server;
  private listening = false;
  private readonly connections = new Set<ProxiedConnection>();
  private blackHole: BlackHole | null = null;
  private counters: FaultProxyStats = { connections: 0, open: 0, bytesUp: 0, bytesDown: 0 };
  port = 0;

  constructor(
    readonly host: string,
    private readonly target: { host: string; port: number },
  ) {
    this.server = createServer((client) => {
      this.counters.connections += 1;
      this.connections.add(new ProxiedConnection(client, this.target, this));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.host, port: this.port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.listening = true;
  }

  private async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    // close() stops listening at once; its callback would wait for every connection.
    this.server.close();
    await new Promise((resolve) => setImmediate(resolve));
  }

  async setMode(mode: FaultMode): Promise<void> {
    const previous = this.mode;
    this.mode = mode;
    if (previous.kind === 'blackHole' && mode.kind !== 'blackHole') {
      await this.blackHole?.close();
      this.blackHole = null;
    }
    if (mode.kind === 'refuse' || mode.kind === 'blackHole') await this.stopListening();
    if (mode.kind === 'blackHole' && previous.kind !== 'blackHole') {
      this.blackHole = new BlackHole();
      await this.blackHole.open(this.host, this.port);
    }
    if (mode.kind !== 'refuse' && mode.kind !== 'blackHole' && !this.listening) await this.listen();
    for (const connection of [...this.connections]) connection.apply(mode);
  }

  stats(): FaultProxyStats {
    return { ...this.counters, open: this.connections.size };
  }

  resetStats(): void {
    this.counters = { connections: 0, open: 0, bytesUp: 0, bytesDown: 0 };
  }

  countUp(bytes: number): void {
    this.counters.bytesUp += bytes;
  }

  countDown(bytes: number): void {
    this.counters.bytesDown += bytes;
  }

  forget(connection: ProxiedConnection): void {
    this.connections.delete(connection);
  }

  async close(): Promise<void> {
    await this.blackHole?.close();
    this.blackHole = null;
    for (const connection of [...this.connections]) connection.kill();
    await this.stopListening();
  }
}

/** A proxy on a free port of `host` (127.0.0.1 by default) in front of `target`. */
export async function startFaultProxy(target: { host: string; port: number }, host = '127.0.0.1'): Promise<FaultProxy> {
  const proxy = new FaultProxyImpl(host, target);
  await proxy.listen();
  return proxy;
}
