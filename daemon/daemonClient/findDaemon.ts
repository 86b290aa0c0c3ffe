// Finds the daemon that serves a state directory: its discovery file names a live process
// that answers `hello` with the file's token. A file left by a dead daemon is ignored.
import { protocolVersion } from '../protocol/rpc';
import { DaemonClient } from './daemonClient';
import { processAlive, readDiscovery } from './discovery';

export interface LiveDaemon {
  client: DaemonClient;
  pid: number;
  port: number;
  daemonVersion: string;
  protocolVersion: number;
}

export async function connectToLiveDaemon(stateDir: string, clientName: string, timeoutMs = 3000): Promise<LiveDaemon | null> {
  const discovery = readDiscovery(stateDir);
  if (!discovery || !processAlive(discovery.pid)) return null;
  let client: DaemonClient;
  try {
    client = await DaemonClient.connect({ port: discovery.port, token: discovery.token, timeoutMs });
  } catch {
    return null;
  }
  try {
    const hello = await withTimeout(client.call('hello', { client: clientName, protocolVersion }), timeoutMs);
    if (hello.pid !== discovery.pid) throw new Error('a different process answered');
    return { client, pid: hello.pid, port: discovery.port, daemonVersion: hello.daemonVersion, protocolVersion: hello.protocolVersion };
  } catch {
    await client.close();
    return null;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
