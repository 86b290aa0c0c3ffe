// One run of a job at a time. Two runs of the same ledger (two terminals, or a terminal and
// the daemon) would each read the same unfinished records and send them twice. The lock is
// an exclusive transaction held open on a small SQLite file beside the ledger: the kernel
// drops it when its process dies, even by SIGKILL, so a crashed run never leaves a stale
// lock behind the way a pid file would.
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobDirectory } from './ledger';

export class JobLockedError extends Error {
  override readonly name = 'JobLockedError';
}

export interface RunLock {
  release(): void;
}

function holder(ownerPath: string): string {
  try {
    const owner = JSON.parse(readFileSync(ownerPath, 'utf8')) as { pid?: number; since?: string };
    return `pid ${owner.pid ?? '?'}, since ${owner.since ?? '?'}`;
  } catch {
    return 'pid unknown';
  }
}

export function acquireRunLock(stateDir: string, jobName: string): RunLock {
  const directory = jobDirectory(stateDir, jobName);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const ownerPath = join(directory, 'run.owner');
  const db = new Database(join(directory, 'run.lock'), { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    throw new JobLockedError(
      `${jobName} is already running (${holder(ownerPath)}) with the same state directory; ` +
        'wait for that run to end or pause it, then run this again',
    );
  }
  writeFileSync(ownerPath, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
  return {
    release: () => {
      if (db.open) db.close();
    },
  };
}
