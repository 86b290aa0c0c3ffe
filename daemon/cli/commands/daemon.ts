// `drover daemon`, and what the daemon-facing commands share: how they reach the daemon
// (connect to the live one, or start one detached for `drover run --daemon`), the API keys
// this shell holds for a job, and exit codes for the daemon's refusals.
import { DaemonRpcError } from '../../daemonClient/daemonClient';
import { connectToLiveDaemon, type LiveDaemon } from '../../daemonClient/findDaemon';
import { launchDaemon } from '../../daemonClient/launchDaemon';
import { protocolVersion, rpcErrorCode } from '../../protocol/rpc';
import { daemonUsage, parseDaemonArgs } from '../../server/daemonOptions';
import { runDaemon } from '../../server/daemonProcess';
import type { JobSpec } from '../../spec/jobSpec';
import { version } from '../../version';
import { ExitCode, UsageError, type CliCommand } from '../command';

const clientName = `drover-cli ${version}`;
/** A daemon the CLI starts on demand leaves when nothing has used it for this long. */
const startedDaemonIdleMinutes = 15;

export const daemonCommand: CliCommand = {
  name: 'daemon',
  summary: 'Run the daemon that owns jobs (VS Code and `drover attach` connect to it)',
  usage: daemonUsage,
  run: (argv) => runDaemon(parseDaemonArgs(argv)),
};

/** A daemon from another release may not understand this CLI: say so rather than fail oddly. */
async function compatible(live: LiveDaemon): Promise<LiveDaemon> {
  if (live.protocolVersion === protocolVersion) return live;
  await live.client.close();
  throw new UsageError(
    `the running daemon (pid ${live.pid}, Drover ${live.daemonVersion}) speaks protocol ${live.protocolVersion}, this CLI ${protocolVersion}: stop it (kill ${live.pid}; its jobs resume in the next daemon) and try again`,
  );
}

/** The daemon serving `stateDir`, or a usage error that says how to start one. */
export async function requireDaemon(stateDir: string): Promise<LiveDaemon> {
  const live = await connectToLiveDaemon(stateDir, clientName);
  if (live) return compatible(live);
  throw new UsageError(`no Drover daemon is running for ${stateDir}: start one with "drover daemon" (or submit a job with "drover run SPEC --daemon")`);
}

export async function connectOrStartDaemon(stateDir: string): Promise<{ daemon: LiveDaemon; started: boolean }> {
  const live = await connectToLiveDaemon(stateDir, clientName);
  if (live) return { daemon: await compatible(live), started: false };
  const script = process.argv[1];
  if (script === undefined) throw new Error('cannot tell how this CLI was started, so cannot start a daemon: run "drover daemon" yourself');
  const daemon = await launchDaemon({
    command: process.execPath,
    // The same runtime flags (e.g. a loader) and script that run this CLI run the daemon.
    args: [...process.execArgv, script, 'daemon', '--state-dir', stateDir, '--idle-exit-minutes', String(startedDaemonIdleMinutes)],
    stateDir,
    clientName,
  });
  return { daemon, started: true };
}

/**
 * The keys this shell has for the job's endpoints, handed to the daemon (memory only), so a
 * daemon started elsewhere — by VS Code, without the variable — can still run the job.
 */
export function keysFromEnvironment(spec: JobSpec, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const endpoint of [spec.provider, ...spec.provider.fallbacks]) {
    const key = env[endpoint.apiKeyEnv];
    if (key) keys[endpoint.baseUrl] = key;
  }
  return keys;
}

/** The exit code for an error the daemon answered with (see `drover --help`). */
export function exitCodeForDaemonError(error: DaemonRpcError): number {
  switch (error.code) {
    case rpcErrorCode.jobSetup:
      return ExitCode.jobFatal;
    case rpcErrorCode.internalError:
    case rpcErrorCode.shuttingDown:
      return ExitCode.internal;
    default:
      return ExitCode.usage;
  }
}

/** Runs a daemon-facing command; the daemon's refusals become a message and an exit code. */
export async function reportingDaemonErrors(command: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof DaemonRpcError)) throw error;
    process.stderr.write(`drover ${command}: ${error.message}\n`);
    return exitCodeForDaemonError(error);
  }
}
