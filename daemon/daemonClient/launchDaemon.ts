// Starts a daemon as a detached process (it outlives whoever started it) and waits until
// it answers. If another daemon won the race, that one is returned instead.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connectToLiveDaemon, type LiveDaemon } from './findDaemon';

export interface LaunchOptions {
  /** The executable and arguments that run `drover daemon` (or dist/daemon.js). */
  command: string;
  args: readonly string[];
  stateDir: string;
  clientName: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export async function launchDaemon(options: LaunchOptions): Promise<LiveDaemon> {
  const child = spawn(options.command, options.args, { detached: true, stdio: 'ignore', env: options.env ?? process.env });
  const exit: { code: number | null } = { code: null };
  child.once('exit', (code) => {
    exit.code = code ?? 1;
  });
  child.unref();
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    const live = await connectToLiveDaemon(options.stateDir, options.clientName, 1000);
    if (live) return live;
    if (exit.code !== null && exit.code !== 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const logFile = join(options.stateDir, 'logs', 'daemon.log');
  throw new Error(
    exit.code !== null && exit.code !== 0
      ? `the daemon exited with code ${exit.code} before it was ready; see ${logFile}`
      : `the daemon did not answer within ${options.timeoutMs ?? 15_000} ms; see ${logFile}`,
  );
}
