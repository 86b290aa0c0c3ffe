// Which Node.js runs the daemon. The daemon loads better-sqlite3, a native module built for
// one Node ABI, so a runtime counts only if it can actually open a database with it: the
// one the user configured, else the system `node`, else the editor's own runtime (plain
// Node in code-server; Electron, which usually cannot, on the desktop).
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface DaemonRuntime {
  command: string;
  /** Added to the daemon's environment (Electron runs as plain Node only when asked). */
  env: Record<string, string>;
  /** Where it came from, for the log. */
  origin: 'setting' | 'system' | 'editor';
}

export interface RuntimeSearch {
  /** `drover.daemon.nodePath`; empty when not set. */
  configuredPath: string;
  /** The folder whose node_modules holds better-sqlite3 (the extension's). */
  extensionPath: string;
  /** The extension host's executable (process.execPath). */
  editorExecutable: string;
  probeTimeoutMs?: number;
}

/** No runtime can run the daemon; the message says what was tried and how to fix it. */
export class DaemonRuntimeError extends Error {
  override readonly name = 'DaemonRuntimeError';
}

const minimumNodeMajor = 20;

// What only a Node that ran the probe to its end prints (an executable that ignores `-e`
// and exits 0 is not a Node).
const probeMarker = 'drover-daemon-runtime-ok';

// Run with `-e`: argv[1] is the module folder. Exit 3 names a Node too old for the daemon.
const probeScript = `
const major = Number(process.versions.node.split('.')[0]);
if (major < ${minimumNodeMajor}) { console.error('Node.js ' + process.versions.node + ' is older than ${minimumNodeMajor}'); process.exit(3); }
const Database = require(process.argv[1]);
new Database(':memory:').close();
console.log('${probeMarker}');
`;

interface Candidate {
  command: string;
  env: Record<string, string>;
  origin: DaemonRuntime['origin'];
  label: string;
}

function probe(candidate: Candidate, moduleDir: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      candidate.command,
      ['-e', probeScript, moduleDir],
      { timeout: timeoutMs, env: { ...process.env, ...candidate.env }, windowsHide: true },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout.includes(probeMarker) ? null : 'it is not a Node.js executable (it did not run the check script)');
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') resolve('not found');
        else if (error.killed) resolve(`did not answer within ${timeoutMs} ms`);
        else resolve(firstMeaningfulLine(stderr) ?? error.message);
      },
    );
  });
}

function firstMeaningfulLine(stderr: string): string | null {
  const lines = stderr.split('\n').map((line) => line.trim());
  // Node prints the failing source line and a caret before the error itself.
  return lines.find((line) => /^(Error|[A-Za-z]*Error:|Node\.js )/.test(line)) ?? lines.find((line) => line.length > 0) ?? null;
}

export async function findDaemonRuntime(search: RuntimeSearch): Promise<DaemonRuntime> {
  const moduleDir = join(search.extensionPath, 'node_modules', 'better-sqlite3');
  const timeoutMs = search.probeTimeoutMs ?? 15_000;
  const candidates: Candidate[] = search.configuredPath
    ? [{ command: search.configuredPath, env: {}, origin: 'setting', label: `drover.daemon.nodePath (${search.configuredPath})` }]
    : [
        { command: 'node', env: {}, origin: 'system', label: '`node` on the PATH' },
        // ELECTRON_RUN_AS_NODE makes a desktop editor's Electron behave as Node; plain Node ignores it.
        { command: search.editorExecutable, env: { ELECTRON_RUN_AS_NODE: '1' }, origin: 'editor', label: `the editor's own runtime (${search.editorExecutable})` },
      ];
  const failures: string[] = [];
  for (const candidate of candidates) {
    const failure = await probe(candidate, moduleDir, timeoutMs);
    if (failure === null) return { command: candidate.command, env: candidate.env, origin: candidate.origin };
    failures.push(`${candidate.label}: ${failure}`);
  }
  const fix = search.configuredPath
    ? `Point drover.daemon.nodePath at a Node.js ${minimumNodeMajor}+ executable (\`which node\`), or clear it to use the system node.`
    : `Install Node.js ${minimumNodeMajor} or later (https://nodejs.org), or set drover.daemon.nodePath to a Node.js ${minimumNodeMajor}+ executable.`;
  throw new DaemonRuntimeError(`No Node.js can run the Drover daemon (it needs better-sqlite3 from ${moduleDir}). Tried ${failures.join('; ')}. ${fix}`);
}
