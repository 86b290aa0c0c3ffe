// One connected client: answers its requests through the dispatcher and sends it the
// notifications of the jobs it subscribed to, job.progress at most once per interval per
// job. A client that stops reading is disconnected rather than buffered without end.
import type WebSocket from 'ws';
import type { JobProgress } from '../protocol/jobProgress';
import type { RpcNotificationName, RpcNotificationParams } from '../protocol/rpc';
import type { DaemonLog } from './daemonLog';
import { LatestThrottle } from './latestThrottle';
import type { RpcDispatcher } from './rpcDispatcher';

export interface SessionOptions {
  progressIntervalMs: number;
  /** Unsent bytes beyond which the client counts as stuck. */
  maxBufferedBytes: number;
}

const closeGraceMs = 1000;
let nextSessionId = 1;

export class ClientSession {
  readonly id = nextSessionId++;
  private readonly subscriptions = new Map<string, LatestThrottle<JobProgress>>();

  constructor(
    private readonly socket: WebSocket,
    dispatcher: RpcDispatcher<ClientSession>,
    private readonly log: DaemonLog,
    private readonly options: SessionOptions,
  ) {
    // ws reports protocol violations (an oversized frame: 1009) here and closes the socket.
    socket.on('error', (error) => log.warn('client connection error', { session: this.id, error: error.message }));
    socket.on('message', (data: WebSocket.RawData) => {
      void dispatcher.handleText(messageText(data), this).then((answer) => {
        if (answer !== null) this.send(answer);
      });
    });
  }

  subscribe(jobId: string): void {
    if (this.subscriptions.has(jobId)) return;
    this.subscriptions.set(jobId, new LatestThrottle(this.options.progressIntervalMs, (progress) => this.notify('job.progress', progress)));
  }

  unsubscribe(jobId: string): void {
    this.subscriptions.get(jobId)?.dispose();
    this.subscriptions.delete(jobId);
  }

  progress(progress: JobProgress): void {
    this.subscriptions.get(progress.jobId)?.offer(progress);
  }

  /** A notification about one job, for subscribers of that job only. */
  notifyJob<N extends RpcNotificationName>(name: N, jobId: string, params: RpcNotificationParams<N>): void {
    if (this.subscriptions.has(jobId)) this.notify(name, params);
  }

  notify<N extends RpcNotificationName>(name: N, params: RpcNotificationParams<N>): void {
    this.send(JSON.stringify({ jsonrpc: '2.0', method: name, params }));
  }

  /** Closes politely; a client that does not answer the close within a second is cut off. */
  close(code: number, reason: string): void {
    this.dispose();
    const cutOff = setTimeout(() => this.socket.terminate(), closeGraceMs);
    this.socket.once('close', () => clearTimeout(cutOff));
    this.socket.close(code, reason);
  }

  dispose(): void {
    for (const throttle of this.subscriptions.values()) throttle.dispose();
    this.subscriptions.clear();
  }

  private send(text: string): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > this.options.maxBufferedBytes) {
      this.log.warn('disconnecting a client that does not read its messages', { session: this.id, buffered: this.socket.bufferedAmount });
      this.dispose();
      this.socket.terminate();
      return;
    }
    this.socket.send(text);
  }
}

function messageText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
