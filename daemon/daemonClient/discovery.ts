// Where a running daemon announces itself, and how a client reads that announcement.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonDiscoverySchema, type DaemonDiscovery } from '../protocol/rpc';

export function discoveryPath(stateDir: string): string {
  return join(stateDir, 'daemon.json');
}

/** The discovery file's content, or null when it is missing or not one Drover wrote. */
export function readDiscovery(stateDir: string): DaemonDiscovery | null {
  let text: string;
  try {
    text = readFileSync(discoveryPath(stateDir), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = daemonDiscoverySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Signal 0 checks existence; EPERM means alive but someone else's. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
