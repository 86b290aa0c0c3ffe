// The daemon's life: claim the state directory, listen, announce itself in the discovery
// file, bring back interrupted jobs, serve clients — and on SIGTERM / SIGINT (or when idle)
// pause every job, let requests in flight finish within the deadline, wait for the jobs to
// checkpoint, remove the discovery file and exit 0.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { ExitCode } from '../cli/command';
import { protocolVersion, type DaemonDiscovery } from '../protocol/rpc';
import { version } from '../version';
import { ClientSession } from './clientSession';
import { daemonMethods } from './daemonMethods';
import { DaemonLog } from './daemonLog';
import type { DaemonOptions } from './daemonOptions';
import { removeDiscovery, writeDiscovery } from './discoveryFile';
import { IdleExit } from './idleExit';
import { JobManager } from './jobManager';
import { listenForClients, type ClientListener } from './clientListener';
import { NotificationHub } from './notificationHub';
import { Redactor } from './redactor';
import { RpcDispatcher } from './rpcDispatcher';
import { claimInstance } from './singleInstance';

/** The engine reports this often, so the snapshot a client gets is never more than 50 ms old. */
const engineTickMs = 50;
/**
 * Each client gets at most one job.progress per job per this many ms: a little over 100, so
 * that a client timing them on its own clock, through delivery jitter, never sees over 10/s.
 */
const progressIntervalMs = 110;
const maxBufferedBytes = 16 * 1024 * 1024;

export async function runDaemon(options: DaemonOptions): Promise<number> {
  const { stateDir } = options;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const redactor = new Redactor();
  const log = new DaemonLog({ file: join(stateDir, 'logs', 'daemon.log'), redactor, stderr: process.stderr });

  const claim = await claimInstance(stateDir);
  if (claim.kind === 'existing') {
    log.info('a daemon already serves this state directory; leaving it be', { pid: claim.pid, port: claim.port, stateDir });
    return ExitCode.ok;
  }

  let stop: (reason: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    stop = resolve;
  });
  const hub = new NotificationHub(redactor);
  const idle = new IdleExit(options.idleExitMs, () => manager.activeCount === 0 && hub.clientCount === 0, () => stop('idle'));
  const manager = new JobManager({
    stateDir,
    env: process.env,
    events: hub,
    log,
    redactor,
    engineTickMs,
    onActivity: () => idle.check(),
  });
  const startedAt = new Date().toISOString();
  const dispatcher = new RpcDispatcher<ClientSession>(daemonMethods(manager, { stateDir, startedAt }), {
    internalError: (error, method) => log.error(`internal error in ${method}`, { error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    redact: (text) => redactor.redact(text),
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) stop(signal);
    else {
      log.warn(`${signal} again: aborting requests in flight`);
      manager.abortInFlight();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const onUnhandled = (error: unknown) => log.error('unhandled error', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.on('unhandledRejection', onUnhandled);

  try {
    const listener = await listenAndAnnounce(options.port, stateDir, startedAt, () => claim.release(), log, (socket) => {
      const session = new ClientSession(socket, dispatcher, log, { progressIntervalMs, maxBufferedBytes });
      hub.add(session);
      log.debug('client connected', { session: session.id });
      socket.once('close', () => {
        hub.remove(session);
        log.debug('client disconnected', { session: session.id });
        idle.check();
      });
      idle.check();
    });
    manager.restore();
    idle.check();

    const reason = await stopped;
    idle.stop();
    log.info(`stopping (${reason}): pausing jobs, letting requests in flight finish`, { running: manager.activeCount, drainMs: options.drainMs });
    await manager.shutdown(options.drainMs);
    for (const session of hub.all()) session.close(1001, 'the daemon is stopping');
    await listener.close();
    removeDiscovery(stateDir, listener.discovery);
    log.info('daemon stopped');
    return ExitCode.ok;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('unhandledRejection', onUnhandled);
  }
}

/** Opens the socket and writes daemon.json; the start-up lock is released either way. */
async function listenAndAnnounce(
  port: number,
  stateDir: string,
  startedAt: string,
  releaseLock: () => void,
  log: DaemonLog,
  onConnection: (socket: WebSocket) => void,
): Promise<ClientListener & { discovery: DaemonDiscovery }> {
  try {
    const token = randomBytes(32).toString('base64url');
    const listener = await listenForClients({ port, token, log, onConnection });
    const discovery = { pid: process.pid, port: listener.port, token, protocolVersion, daemonVersion: version, startedAt };
    writeDiscovery(stateDir, discovery);
    log.info('daemon listening', { pid: process.pid, port: listener.port, stateDir, version });
    return { ...listener, discovery };
  } finally {
    releaseLock();
  }
}
