// A real VS Code for the extension's tests: code-server (VS Code 1.100 serving its
// workbench to a browser, with a plain Node extension host), installed outside the repo by
// scripts/install-code-server.sh. Each server gets its own temporary profile, a port of its
// own and an environment tag that every process it starts inherits, so stop() can end it
// together with its extension hosts and whatever they started, detached or not.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const codeServerVersion = '4.100.3';

export interface CodeServerOptions {
  /** The folder the window opens. */
  workspace: string;
  /** An extension folder loaded as under development (F5) in every window of `url`. */
  extensionDevelopmentPath?: string;
  /** Added to this process's environment for code-server and so its extension hosts. */
  env?: Record<string, string>;
  /** User settings, over defaults that keep a fresh window quiet (no welcome page). */
  settings?: Record<string, unknown>;
  /** VSIX files installed (`--install-extension`) into the server's extensions folder first. */
  installExtensions?: string[];
  startTimeoutMs?: number;
}

export interface CodeServer {
  /** The workbench for `workspace`, with the development extension when one was given. */
  url: string;
  port: number;
  /** The server's pid, which is also its process group's id. */
  pid: number;
  userDataDir: string;
  extensionsDir: string;
  options: CodeServerOptions;
  /** The server's processes that still run: it, its extension hosts and all they started. */
  processes(): number[];
  /** Ends every one of processes() (SIGTERM, then SIGKILL) and removes the profile. */
  stop(): Promise<void>;
}

const quietSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'remote.autoForwardPorts': false,
};

// An empty gallery turns the marketplace off: tests never reach outside this machine.
const offlineEnv = { EXTENSIONS_GALLERY: '{}' };
const instanceVariable = 'DROVER_CODE_SERVER_INSTANCE';

function installDir(): string {
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return process.env.DROVER_CODE_SERVER_DIR ?? join(cache, 'drover', `code-server-${codeServerVersion}`);
}

/** code-server's entry script; throws how to install it when it is not there. */
export function codeServerEntry(): string {
  const dir = installDir();
  const entry = join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  // The script writes the marker only after it has built and run code-server.
  if (!existsSync(join(dir, '.drover-install-verified')) || !existsSync(entry)) {
    throw new Error(
      `code-server ${codeServerVersion} is not installed in ${dir}. ` +
        'Run scripts/install-code-server.sh (set DROVER_CODE_SERVER_DIR to install elsewhere).',
    );
  }
  return entry;
}

/** The URL that opens `folder` in a window, with `payload` entries (extension paths). */
export function workbenchUrl(port: number, folder: string, payload: [string, string][] = []): string {
  const url = new URL(`http://127.0.0.1:${port}/`);
  url.searchParams.set('folder', folder);
  if (payload.length > 0) url.searchParams.set('payload', JSON.stringify(payload));
  return url.toString();
}

/** A path on the server's machine as the browser window has to name it. */
export function remoteUri(port: number, path: string): string {
  return `vscode-remote://127.0.0.1:${port}${path}`;
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const entry = codeServerEntry();
  const root = await mkdtemp(join(tmpdir(), 'drover-code-server-'));
  const userDataDir = join(root, 'user-data');
  const extensionsDir = join(root, 'extensions');
  const config = join(root, 'config.yaml');
  await mkdir(join(userDataDir, 'User'), { recursive: true });
  await mkdir(extensionsDir);
  const settings = { ...quietSettings, ...options.settings };
  await writeFile(join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  // Without --config, code-server writes a config with a password under ~/.config.
  await writeFile(config, '');

  try {
    for (const vsix of options.installExtensions ?? []) await installExtension(entry, config, userDataDir, extensionsDir, vsix);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }

  // Port 0: the kernel picks a free port, and the server prints which one.
  const args = [
    entry,
    ...['--config', config, '--auth', 'none', '--bind-addr', '127.0.0.1:0'],
    ...['--disable-telemetry', '--disable-update-check', '--disable-workspace-trust'],
    ...['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir],
    options.workspace,
  ];
  // Every process the server starts inherits this variable, whatever its parent or session
  // ends up being (a daemon started detached, a shell's background job): stop() finds them
  // all by it.
  const instanceId = randomUUID();
  const instanceEntry = `${instanceVariable}=${instanceId}`;
  // Detached: the server leads a process group of its own, which its children join.
  const child = spawn(process.execPath, args, {
    detached: true,
    env: { ...process.env, ...offlineEnv, ...options.env, [instanceVariable]: instanceId },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const processes = () => (child.pid === undefined ? [] : runningProcesses(child.pid, instanceEntry));
  const stop = () => stopProcesses(processes).finally(() => rm(root, { recursive: true, force: true }));

  let port: number;
  try {
    port = await listeningPort(child, output, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const payload: [string, string][] = options.extensionDevelopmentPath
    ? [['extensionDevelopmentPath', remoteUri(port, options.extensionDevelopmentPath)]]
    : [];
  return {
    url: workbenchUrl(port, options.workspace, payload),
    port,
    pid: child.pid!,
    userDataDir,
    extensionsDir,
    options,
    processes,
    stop,
  };
}

/** code-server's own installer, as a user runs it; fails with its output. */
function installExtension(entry: string, config: string, userDataDir: string, extensionsDir: string, vsix: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = [entry, '--config', config, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', vsix];
    execFile(process.execPath, args, { env: { ...process.env, ...offlineEnv }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`code-server --install-extension ${vsix} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

function listeningPort(child: ChildProcess, output: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      cleanup();
      reject(new Error(`code-server ${reason}. Its output:\n${output.join('')}`));
    };
    const onData = () => {
      const match = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output.join(''));
      if (!match) return;
      cleanup();
      resolve(Number(match[1]));
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(`exited (code ${code}, signal ${signal}) before it listened`);
    const onError = (error: Error) => fail(`could not be started: ${error.message}`);
    const timer = setTimeout(() => fail(`did not listen within ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

interface ProcessEntry {
  pid: number;
  group: number;
  zombie: boolean;
}

/** The processes on this machine, from /proc (Linux, where code-server runs for these tests). */
function processTable(): ProcessEntry[] {
  const table: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // it ended while we looked
    }
    // The command name in parentheses may hold spaces: the fields after it are
    // state, parent pid, process group.
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.push({ pid: Number(name), group: Number(group), zombie: state === 'Z' });
  }
  return table;
}

function inherited(pid: number, variable: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(variable);
  } catch {
    return false; // ended, or not ours to read
  }
}

/** Running (not zombie) members of `group` and processes whose environment holds `variable`. */
function runningProcesses(group: number, variable: string): number[] {
  return processTable()
    .filter((entry) => !entry.zombie && (entry.group === group || inherited(entry.pid, variable)))
    .map((entry) => entry.pid);
}

async function waitUntilNone(list: () => number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let running = list();
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    running = list();
  }
  return running;
}

async function stopProcesses(list: () => number[]): Promise<void> {
  const signalAll = (signal: NodeJS.Signals, pids: number[]) => {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };
  signalAll('SIGTERM', list());
  const stubborn = await waitUntilNone(list, 5_000);
  if (stubborn.length === 0) return;
  signalAll('SIGKILL', stubborn);
  const survivors = await waitUntilNone(list, 5_000);
  if (survivors.length > 0) throw new Error(`code-server processes survived SIGKILL: ${survivors.join(', ')}`);
}

/**
 * Stops the Drover daemon serving `stateDir` (the pid in its daemon.json), if one runs:
 * SIGTERM, then SIGKILL after 10 s. Extensions start daemons detached, to outlive windows,
 * so a test ends the one it caused explicitly (code-server's stop() catches it too).
 */
export async function stopDaemon(stateDir: string): Promise<void> {
  let pid: number;
  try {
    pid = (JSON.parse(readFileSync(join(stateDir, 'daemon.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return; // no daemon was started, or it already left
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  if ((await waitUntilNone(() => (alive() ? [pid] : []), 10_000)).length === 0) return;
  process.kill(pid, 'SIGKILL');
  await waitUntilNone(() => (alive() ? [pid] : []), 5_000);
}
