// The extension's one connection to the daemon, as an explicit state machine:
//
//   stopped ─▶ starting ─▶ running ─▶ reconnecting ─▶ running …
//                 │           │            │
//                 └──────▶ failed ◀────────┘   (5 losses in 3 minutes, or no way to start one)
//
// Nothing happens until the first `client()` call (never at activation). It attaches to the
// daemon named by the discovery file or starts one detached; a lost connection is retried
// with backoff (starting a new daemon when the old one died) until the crash budget is
// spent. Free of `vscode`, so node's test runner can drive it against real daemons.
import { type DaemonClient } from '../../daemon/daemonClient/daemonClient';
import { connectToLiveDaemon, type LiveDaemon } from '../../daemon/daemonClient/findDaemon';
import { launchDaemon } from '../../daemon/daemonClient/launchDaemon';
import { Listeners } from '../shared/listeners';
import { CrashBudget } from './crashBudget';

export type DaemonState = 'stopped' | 'starting' | 'running' | 'reconnecting' | 'failed';

export interface DaemonStateChange {
  state: DaemonState;
  previous: DaemonState;
  /** Why: the failure, or the daemon's identity once running. */
  detail: string | null;
}

/** How to start a daemon when none runs; resolving it may fail (no usable Node.js). */
export interface DaemonLaunchPlan {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface ConnectionLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface DaemonConnectionOptions {
  stateDir: () => string;
  clientName: string;
  launchPlan: (stateDir: string) => Promise<DaemonLaunchPlan>;
  log: ConnectionLog;
  budget?: CrashBudget;
  /** Reconnection delays: `initialMs`, doubled per attempt up to `maxMs`. */
  backoff?: { initialMs: number; maxMs: number };
  launchTimeoutMs?: number;
}

/** `client()` cannot give a connection now; the message is for the user. */
export class DaemonUnavailableError extends Error {
  override readonly name = 'DaemonUnavailableError';

  constructor(
    message: string,
    /** True when Drover gave up restarting it (the crash budget is spent). */
    readonly gaveUp: boolean,
  ) {
    super(message);
  }
}

const transitions: Record<DaemonState, readonly DaemonState[]> = {
  stopped: ['starting'],
  starting: ['running', 'failed', 'stopped'],
  running: ['reconnecting', 'failed', 'starting', 'stopped'],
  reconnecting: ['running', 'failed', 'starting', 'stopped'],
  failed: ['starting', 'stopped'],
};

export class DaemonConnection {
  private current: DaemonState = 'stopped';
  private live: LiveDaemon | null = null;
  private pending: Promise<DaemonClient> | null = null;
  private lastFailure: DaemonUnavailableError | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  /** Bumped on restart and dispose, so late results of an older attempt are dropped. */
  private generation = 0;
  private disposed = false;
  private readonly budget: CrashBudget;
  private readonly stateChanges = new Listeners<DaemonStateChange>();
  private readonly connects = new Listeners<DaemonClient>();

  /** Every transition, in order. */
  readonly onDidChangeState = this.stateChanges.event;
  /** A new connection (the first, or after a reconnect): listeners re-subscribe on it. */
  readonly onDidConnect = this.connects.event;

  constructor(private readonly options: DaemonConnectionOptions) {
    this.budget = options.budget ?? new CrashBudget();
  }

  get state(): DaemonState {
    return this.current;
  }

  /** Why the connection is `failed`, while it is. */
  get failure(): DaemonUnavailableError | null {
    return this.current === 'failed' ? this.lastFailure : null;
  }

  /** The daemon this window talks to, while running. */
  get daemon(): { pid: number; port: number; version: string } | null {
    return this.live && { pid: this.live.pid, port: this.live.port, version: this.live.daemonVersion };
  }

  /** The connection, attaching to or starting a daemon first if need be. */
  client(): Promise<DaemonClient> {
    if (this.disposed) return Promise.reject(new DaemonUnavailableError('Drover is shutting down', false));
    if (this.current === 'running' && this.live?.client.isOpen) return Promise.resolve(this.live.client);
    if (this.pending) return this.pending;
    if (this.current === 'failed' && this.lastFailure?.gaveUp) return Promise.reject(this.lastFailure);
    if (this.current === 'reconnecting') return this.reconnectNow();
    return this.start();
  }

  /** Starts over with a fresh crash budget: after giving up, or when the settings changed. */
  restart(): Promise<DaemonClient> {
    this.generation += 1;
    this.clearRetry();
    this.budget.reset();
    this.pending = null;
    this.dropConnection();
    return this.start();
  }

  /** Closes this window's connection; the daemon and its jobs go on. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.generation += 1;
    this.clearRetry();
    this.pending = null;
    const live = this.live;
    this.live = null;
    if (this.current !== 'stopped') this.transition('stopped', null);
    this.stateChanges.dispose();
    this.connects.dispose();
    await live?.client.close();
  }

  private start(): Promise<DaemonClient> {
    this.transition('starting', null);
    return this.attachOnce((error) => {
      const failure = new DaemonUnavailableError(messageOf(error), false);
      this.fail(failure);
      throw failure;
    });
  }

  /**
   * One attach attempt, remembered as `pending` so concurrent callers share it. A restart
   * meanwhile supersedes it: its callers get the newer attempt's result instead.
   */
  private attachOnce(onFailure: (error: unknown) => never): Promise<DaemonClient> {
    const generation = this.generation;
    const attempt = this.attach().then(
      (client) => {
        if (generation !== this.generation) return this.client();
        this.pending = null;
        return client;
      },
      (error: unknown) => {
        if (generation !== this.generation) return this.client();
        this.pending = null;
        return onFailure(error);
      },
    );
    this.pending = attempt;
    return attempt;
  }

  /** Finds the running daemon, or starts one; then goes `running`. */
  private async attach(): Promise<DaemonClient> {
    const stateDir = this.options.stateDir();
    const generation = this.generation;
    let live = await connectToLiveDaemon(stateDir, this.options.clientName);
    if (live) {
      this.options.log.info(`attached to the Drover daemon (pid ${live.pid}, port ${live.port}, version ${live.daemonVersion}) for ${stateDir}`);
    } else {
      const plan = await this.options.launchPlan(stateDir);
      this.options.log.info(`starting a Drover daemon for ${stateDir}: ${plan.command} ${plan.args.join(' ')}`);
      live = await launchDaemon({ ...plan, stateDir, clientName: this.options.clientName, timeoutMs: this.options.launchTimeoutMs });
      this.options.log.info(`the Drover daemon is running (pid ${live.pid}, port ${live.port})`);
    }
    if (generation !== this.generation) {
      await live.client.close();
      throw new DaemonUnavailableError('the connection was restarted meanwhile', false);
    }
    this.live = live;
    this.attempt = 0;
    const client = live.client;
    client.onClose((reason) => this.lost(client, reason));
    this.transition('running', `pid ${live.pid}, port ${live.port}`);
    this.connects.fire(client);
    return client;
  }

  private lost(client: DaemonClient, reason: string): void {
    if (this.live?.client !== client) return; // an old connection, closed on purpose
    this.live = null;
    this.options.log.warn(`lost the connection to the Drover daemon: ${reason}`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.budget.record()) {
      this.fail(
        new DaemonUnavailableError(
          `The Drover daemon stopped ${this.budget.describe()}; Drover will not restart it again. ` +
            'Look in the logs for why, then run "Drover: Restart Daemon".',
          true,
        ),
      );
      return;
    }
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const delay = Math.min(maxMs, initialMs * 2 ** this.attempt);
    this.attempt += 1;
    if (this.current !== 'reconnecting') this.transition('reconnecting', `retrying in ${delay} ms`);
    this.clearRetry();
    this.retryTimer = setTimeout(() => void this.reconnectNow().catch(() => undefined), delay);
  }

  private reconnectNow(): Promise<DaemonClient> {
    this.clearRetry();
    if (this.pending) return this.pending;
    return this.attachOnce((error) => {
      this.options.log.warn(`could not reconnect to the Drover daemon: ${messageOf(error)}`);
      this.scheduleReconnect();
      throw this.lastFailure && this.current === 'failed' ? this.lastFailure : new DaemonUnavailableError(`The Drover daemon is not reachable yet: ${messageOf(error)}`, false);
    });
  }

  private fail(failure: DaemonUnavailableError): void {
    this.lastFailure = failure;
    this.clearRetry();
    this.options.log.error(failure.message);
    this.transition('failed', failure.message);
  }

  private dropConnection(): void {
    const live = this.live;
    this.live = null;
    if (live) void live.client.close();
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private transition(state: DaemonState, detail: string | null): void {
    const previous = this.current;
    if (previous === state) return;
    if (!transitions[previous].includes(state)) throw new Error(`the daemon connection cannot go from ${previous} to ${state}`);
    this.current = state;
    this.stateChanges.fire({ state, previous, detail });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
