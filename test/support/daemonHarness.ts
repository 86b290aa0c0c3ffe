// The built daemon (dist/daemon.js) as a real child process on a temporary DROVER_HOME,
// with a client connected the way the CLI and the extension connect.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonClient } from '../../daemon/daemonClient/daemonClient';
import { readDiscovery } from '../../daemon/daemonClient/discovery';
import type { DaemonDiscovery } from '../../daemon/protocol/rpc';
import { waitFor } from './cli';

export const daemonPath = join(__dirname, '..', '..', 'dist', 'daemon.js');

export interface RunningDaemon {
  readonly home: string;
  readonly child: ChildProcess;
  readonly discovery: DaemonDiscovery;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  connect(): Promise<DaemonClient>;
  /** Sends the signal and waits for the process to end. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnDaemon(home: string, args: string[] = [], env: Record<string, string> = {}) {
  if (!existsSync(daemonPath)) throw new Error(`${daemonPath} is missing: run "npm run build" (npm test builds first)`);
  const child = spawn(process.execPath, [daemonPath, '--state-dir', home, ...args], {
    env: { ...process.env, DROVER_HOME: home, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr: () => err };
}

export async function startDaemon(home: string, args: string[] = [], env: Record<string, string> = {}): Promise<RunningDaemon> {
  const { child, exited, stderr } = spawnDaemon(home, args, env);
  let ended = false;
  void exited.then(() => (ended = true));
  await waitFor(() => ended || readDiscovery(home)?.pid === child.pid, 20_000, 'the daemon to write daemon.json');
  if (ended) throw new Error(`the daemon exited before it was ready:\n${stderr()}`);
  const discovery = readDiscovery(home) as DaemonDiscovery;
  return {
    home,
    child,
    discovery,
    stderr,
    exited,
    connect: () => DaemonClient.connect({ port: discovery.port, token: discovery.token }),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
