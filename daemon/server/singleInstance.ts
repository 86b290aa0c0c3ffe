// Makes sure one daemon serves a state directory. A live daemon (its process exists and
// it answers `hello` with the token in the discovery file) wins: the newcomer steps aside.
// Two daemons starting at once are serialised by a lock file held only while starting.
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../daemonClient/discovery';
import { connectToLiveDaemon } from '../daemonClient/findDaemon';

export type InstanceClaim = { kind: 'existing'; pid: number; port: number } | { kind: 'claimed'; release(): void };

const pollMs = 100;

function lockOwner(lockPath: string): number | null {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function lockAgeMs(lockPath: string): number {
  try {
    return Date.now() - statSync(lockPath).mtimeMs;
  } catch {
    return 0;
  }
}

export async function claimInstance(stateDir: string, startTimeoutMs = 10_000): Promise<InstanceClaim> {
  const lockPath = join(stateDir, 'daemon.lock');
  for (;;) {
    const live = await connectToLiveDaemon(stateDir, 'drover-daemon (starting)');
    if (live) {
      await live.client.close();
      return { kind: 'existing', pid: live.pid, port: live.port };
    }
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return { kind: 'claimed', release: () => rmSync(lockPath, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // Another daemon is starting; a lock whose owner died, or that outlived any start, is stale.
    const owner = lockOwner(lockPath);
    if (owner === null || !processAlive(owner) || lockAgeMs(lockPath) > startTimeoutMs) {
      rmSync(lockPath, { force: true });
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
