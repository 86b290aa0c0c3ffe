// Every process the bench measures runs under GNU time, which reports the CPU and peak RSS
// of that one process (and its threads) when it ends: the bench's own CPU never counts.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const gnuTime = '/usr/bin/time';
const usageMarker = 'BENCH_USAGE';

export interface ProcessUsage {
  userSec: number;
  sysSec: number;
  /** user + sys: the CPU this process used, all its threads together. */
  cpuSec: number;
  peakRssMb: number;
  wallSec: number;
}

export interface TimedOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  usage: ProcessUsage;
}

export interface TimedProcess {
  readonly child: ChildProcess;
  /** Resolves with each complete stdout line as it arrives (the mock's URL, a daemon's ready line). */
  onLine(listener: (line: string) => void): void;
  /** Signals the measured process itself (GNU time would die without reporting). */
  signal(signal: NodeJS.Signals): Promise<void>;
  readonly done: Promise<TimedOutcome>;
}

export function assertGnuTime(): void {
  if (!existsSync(gnuTime)) throw new Error(`the bench reads CPU and peak memory with GNU time: install it (apt-get install time)`);
}

function parseUsage(text: string, command: string): ProcessUsage {
  const line = text.split('\n').find((candidate) => candidate.startsWith(usageMarker));
  const numbers = line?.split(' ').slice(1).map(Number);
  if (!numbers || numbers.length !== 4 || numbers.some((value) => !Number.isFinite(value))) {
    throw new Error(`GNU time reported no usage for ${command}: ${text.trim()}`);
  }
  const [userSec, sysSec, rssKb, wallSec] = numbers;
  return { userSec, sysSec, cpuSec: userSec + sysSec, peakRssMb: rssKb / 1024, wallSec };
}

/** The pid GNU time forked: signals go to it, not to time. */
async function childPidOf(timePid: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const children = readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim();
      if (children !== '') return Number(children.split(' ')[0]);
    } catch {
      // time has not forked yet, or it has already exited
    }
    await delay(10);
  }
  throw new Error(`could not find the process GNU time (pid ${timePid}) started`);
}

export function startTimed(args: readonly string[], env: NodeJS.ProcessEnv = process.env): TimedProcess {
  const reportDir = mkdtempSync(join(tmpdir(), 'drover-bench-time-'));
  const report = join(reportDir, 'usage');
  const child = spawn(gnuTime, ['-o', report, '-f', `${usageMarker} %U %S %M %e`, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const lineListeners: ((line: string) => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stdout += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) for (const listener of lineListeners) listener(line);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const command = args.slice(0, 3).join(' ');
  const done = new Promise<TimedOutcome>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      try {
        resolve({ code, stdout, stderr, usage: parseUsage(readFileSync(report, 'utf8'), command) });
      } catch (error) {
        reject(new Error(`${error instanceof Error ? error.message : String(error)}\n${stderr.slice(-2000)}`));
      } finally {
        rmSync(reportDir, { recursive: true, force: true });
      }
    });
  });
  return {
    child,
    done,
    onLine: (listener) => lineListeners.push(listener),
    async signal(signal) {
      if (child.pid === undefined || child.exitCode !== null) return;
      process.kill(await childPidOf(child.pid), signal);
    },
  };
}

/** The first stdout line, or the process's stderr if it ends first. */
export function firstLine(timed: TimedProcess, what: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} printed nothing in ${timeoutMs} ms`)), timeoutMs);
    timed.onLine((line) => {
      clearTimeout(timer);
      resolve(line);
    });
    timed.done.then(
      (outcome) => {
        clearTimeout(timer);
        reject(new Error(`${what} exited (${outcome.code}) before it was ready: ${outcome.stderr.slice(-2000)}`));
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
