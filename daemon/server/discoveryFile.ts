// Writes and removes the discovery file. Written atomically (a temporary file renamed over
// it) with mode 0600, so a client never reads half a file and no other user reads the token.
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { discoveryPath, readDiscovery } from '../daemonClient/discovery';
import type { DaemonDiscovery } from '../protocol/rpc';

export function writeDiscovery(stateDir: string, discovery: DaemonDiscovery): void {
  const path = discoveryPath(stateDir);
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    // The mode given to open() only applies to a new file; an old leftover keeps its own.
    fchmodSync(fd, 0o600);
    writeSync(fd, `${JSON.stringify(discovery, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Removes the file only while it still names this daemon, never a successor's. */
export function removeDiscovery(stateDir: string, discovery: DaemonDiscovery): void {
  const current = readDiscovery(stateDir);
  if (current && current.pid === discovery.pid && current.token === discovery.token) {
    rmSync(discoveryPath(stateDir), { force: true });
  }
}
