// The daemon's socket: HTTP on 127.0.0.1 whose only use is the WebSocket upgrade. Every
// upgrade passes the guard before it completes; a refusal is a plain HTTP status and the
// socket is closed. Anything else gets 404, and no response ever carries CORS headers.
import { createServer, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { maxFrameBytes } from '../protocol/rpc';
import type { DaemonLog } from './daemonLog';
import { checkUpgrade, type Refusal } from './upgradeGuard';

export interface ClientListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface ListenOptions {
  port: number;
  token: string;
  log: DaemonLog;
  onConnection(socket: WebSocket): void;
}

function refuse(socket: Duplex, refusal: Refusal): void {
  const body = `${refusal.reason}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
      'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export async function listenForClients(options: ListenOptions): Promise<ClientListener> {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes, clientTracking: false });
  const server = createServer((_request, response) => {
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('not found: this is the Drover daemon, reached over an authenticated WebSocket only\n');
  });
  let port = options.port;
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refusal = checkUpgrade(request, { port, token: options.token });
    if (refusal) {
      options.log.warn('refused a connection', { status: refusal.status, reason: refusal.reason });
      refuse(socket, refusal);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (webSocket) => options.onConnection(webSocket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${options.port} on 127.0.0.1 is already in use; pick another with --port`) : error),
    );
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
