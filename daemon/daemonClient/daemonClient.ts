// A connection to the daemon: typed JSON-RPC calls whose results are validated against the
// protocol's schemas, and typed notifications. Used by the CLI and the VS Code extension,
// so it knows nothing of either.
import WebSocket from 'ws';
import {
  isRpcNotificationName,
  rpcMethods,
  rpcNotifications,
  type RpcMethodName,
  type RpcNotificationName,
  type RpcNotificationParams,
  type RpcParams,
  type RpcResult,
} from '../protocol/rpc';

/** An error the daemon answered with; `code` is one of rpcErrorCode. */
export class DaemonRpcError extends Error {
  override readonly name = 'DaemonRpcError';

  constructor(
    readonly code: number,
    message: string,
    readonly data: unknown,
  ) {
    super(message);
  }
}

/** The connection closed (or never opened); calls still waiting fail with this. */
export class DaemonConnectionError extends Error {
  override readonly name = 'DaemonConnectionError';
}

export interface ConnectOptions {
  port: number;
  token: string;
  timeoutMs?: number;
}

interface Pending {
  method: RpcMethodName;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Listener = (params: unknown) => void;

export class DaemonClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<RpcNotificationName, Set<Listener>>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private closeReason: string | null = null;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: WebSocket.RawData) => this.receive(rawText(data)));
    socket.on('close', (code, reason) => this.closed(`the daemon closed the connection (${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`));
    socket.on('error', (error) => this.closed(`connection error: ${error.message}`));
  }

  static connect(options: ConnectOptions): Promise<DaemonClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${options.port}/`, {
        headers: { authorization: `Bearer ${options.token}` },
        handshakeTimeout: timeoutMs,
        perMessageDeflate: false,
      });
      const fail = (error: Error) => {
        socket.terminate();
        reject(new DaemonConnectionError(`cannot connect to the daemon on port ${options.port}: ${error.message}`));
      };
      socket.once('error', fail);
      socket.once('open', () => {
        socket.off('error', fail);
        resolve(new DaemonClient(socket));
      });
    });
  }

  get isOpen(): boolean {
    return this.closeReason === null;
  }

  call<M extends RpcMethodName>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
    if (this.closeReason !== null) return Promise.reject(new DaemonConnectionError(this.closeReason));
    const id = this.nextId++;
    return new Promise<RpcResult<M>>((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }), (error) => {
        if (!error) return;
        this.pending.delete(id);
        reject(new DaemonConnectionError(`could not send ${method}: ${error.message}`));
      });
    });
  }

  /** Calls `listener` for each notification of that name; returns the way to stop. */
  on<N extends RpcNotificationName>(name: N, listener: (params: RpcNotificationParams<N>) => void): () => void {
    const set = this.listeners.get(name) ?? new Set<Listener>();
    this.listeners.set(name, set);
    // Stored untyped; notify() only hands a listener params its own schema has parsed.
    const untyped = listener as Listener;
    set.add(untyped);
    return () => set.delete(untyped);
  }

  onClose(listener: (reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close(1000, 'client closing');
    });
  }

  private receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return; // the daemon only sends JSON; anything else is not worth crashing over
    }
    for (const item of Array.isArray(message) ? message : [message]) this.dispatch(item);
  }

  private dispatch(item: unknown): void {
    if (item === null || typeof item !== 'object') return;
    const message = item as { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
    if (typeof message.method === 'string') {
      this.notify(message.method, message.params);
      return;
    }
    if (typeof message.id !== 'number') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.error) {
      const code = typeof message.error.code === 'number' ? message.error.code : 0;
      pending.reject(new DaemonRpcError(code, String(message.error.message), message.error.data));
      return;
    }
    const parsed = rpcMethods[pending.method].result.safeParse(message.result);
    if (parsed.success) pending.resolve(parsed.data);
    else pending.reject(new DaemonConnectionError(`the daemon's answer to ${pending.method} does not match the protocol: ${parsed.error.message}`));
  }

  private notify(name: string, params: unknown): void {
    if (!isRpcNotificationName(name)) return;
    const listeners = this.listeners.get(name);
    if (!listeners || listeners.size === 0) return;
    const parsed = rpcNotifications[name].safeParse(params);
    if (!parsed.success) return;
    for (const listener of listeners) listener(parsed.data);
  }

  private closed(reason: string): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    for (const pending of this.pending.values()) pending.reject(new DaemonConnectionError(`${pending.method}: ${reason}`));
    this.pending.clear();
    for (const listener of this.closeListeners) listener(reason);
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
