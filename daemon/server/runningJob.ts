// One job running in the daemon: its engine in a worker thread with a bounded heap (a job
// that runs out of memory stops on its own instead of taking the daemon and every other job
// with it), its latest progress, its errors grouped by class, its log lines in the daemon's
// log, and the moment it stops — with the error that stopped it, if one did.
import { IsolatedJobRunner, type JobControl } from '../pipeline/isolatedJobRunner';
import type { JobProgress } from '../protocol/jobProgress';
import type { JobSpec } from '../spec/jobSpec';
import type { DaemonLog } from './daemonLog';
import { ErrorGrouper } from './errorGrouper';
import type { LiveJob } from './jobCatalog';
import type { JobEvents } from './jobEvents';

export interface RunningJobOptions {
  stateDir: string;
  env: Readonly<Record<string, string | undefined>>;
  /** API keys by base URL; they cross to the worker in memory only. */
  secrets: Readonly<Record<string, string>>;
  retryFailed: boolean;
  engineTickMs: number;
  events: Pick<JobEvents, 'progress' | 'log' | 'errors'>;
  log: DaemonLog;
  /** Called once when the job has stopped: null when it ended by itself (done, paused, cancelled). */
  onStopped(failure: string | null): void;
}

const errorGroupMs = 500;

export class RunningJob implements LiveJob {
  progress: JobProgress | null = null;
  readonly startedAt = new Date().toISOString();
  /** The daemon's own shutdown paused it: the next daemon brings it back. */
  stoppedByShutdown = false;
  /** Settles after onStopped has run. */
  readonly finished: Promise<void>;
  private readonly runner: JobControl;

  constructor(
    readonly spec: JobSpec,
    options: RunningJobOptions,
  ) {
    const { log, events } = options;
    const jobId = spec.name;
    const grouper = new ErrorGrouper(errorGroupMs, (groups) => {
      for (const group of groups) {
        if (group.outcome === 'failed' || group.outcome === 'fatal') {
          log.warn(`${group.errorClass}: ${group.sampleMessage}`, { job: jobId, outcome: group.outcome, count: group.count });
        }
      }
      events.errors(groups);
    });
    this.runner = new IsolatedJobRunner(spec, {
      stateDir: options.stateDir,
      secrets: options.secrets,
      env: options.env,
      retryFailed: options.retryFailed,
      progressIntervalMs: options.engineTickMs,
      listener: {
        progress: (progress) => {
          this.progress = progress;
          events.progress(progress);
        },
        log: (event) => {
          log[event.level](event.message, { job: jobId });
          events.log(event);
        },
        error: (event) => grouper.add(event),
      },
    });
    log.info('job started', { job: jobId, model: spec.model });
    this.finished = this.runner
      .run()
      .then(
        (summary) => {
          log.info(`job ${summary.status}`, { job: jobId, done: summary.records.done, failed: summary.records.failed, costUsd: summary.costUsd });
          return null;
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          log.error('job stopped by an error', { job: jobId, error: message });
          return message;
        },
      )
      .then((failure) => {
        grouper.flush();
        options.onStopped(failure);
      });
  }

  pause(reason: string): void {
    this.runner.pause(reason);
  }

  cancel(): void {
    this.runner.cancel();
  }

  abortInFlight(): void {
    this.runner.abortInFlight();
  }
}
