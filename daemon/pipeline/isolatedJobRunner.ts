// Runs a job in a worker thread with its own, bounded heap. The engine makes short-lived
// garbage by the gigabyte on a long job, and V8 lets a heap grow far past what it keeps
// alive unless it has a limit; the limit also means a job that runs out of memory stops on
// its own — resumable — instead of taking the daemon or the terminal with it.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { JobSummary } from '../protocol/jobProgress';
import type { JobSpec } from '../spec/jobSpec';
import type { RunnerListener, RunnerOptions } from './jobRunner';
import type { JobWorkerCommand, JobWorkerData, JobWorkerEvent } from './jobWorkerMessages';

/** What both runners offer: the in-process JobRunner and this one. */
export interface JobControl {
  readonly jobId: string;
  run(): Promise<JobSummary>;
  pause(reason?: string): void;
  cancel(): void;
  abortInFlight(): void;
}

export const defaultJobHeapMb = 160;

/** An error raised in the worker, with its name kept so callers can tell spec errors apart. */
export class JobWorkerError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

// Bundled: dist/jobWorker.js beside dist/cli.js and dist/daemon.js. From source (tests run
// through tsx, which workers inherit): the .ts file beside this one.
const workerFile = join(__dirname, __filename.endsWith('.ts') ? 'jobWorker.ts' : 'jobWorker.js');

export class IsolatedJobRunner implements JobControl {
  readonly jobId: string;
  private worker: Worker | null = null;
  private readonly pending: JobWorkerCommand[] = [];

  constructor(
    private readonly spec: JobSpec,
    private readonly options: Omit<RunnerOptions, 'clock'> & { heapMb?: number },
  ) {
    this.jobId = spec.name;
  }

  run(): Promise<JobSummary> {
    const { listener, heapMb, ...options } = this.options;
    const data: JobWorkerData = { spec: this.spec, options };
    const limit = heapMb ?? (Number(process.env.DROVER_JOB_HEAP_MB) || defaultJobHeapMb);
    return new Promise<JobSummary>((resolve, reject) => {
      const options = { workerData: data, resourceLimits: { maxOldGenerationSizeMb: limit } };
      // Run from source (tests, `node --import tsx`), a worker does not inherit tsx's loader
      // for its entry file; registering tsx inside the worker first makes it load.
      const worker = workerFile.endsWith('.ts')
        ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(workerFile)});`, { ...options, eval: true })
        : new Worker(workerFile, options);
      this.worker = worker;
      for (const command of this.pending.splice(0)) worker.postMessage(command);
      let settled = false;
      worker.on('message', (event: JobWorkerEvent) => {
        if (event.type === 'summary' || event.type === 'failed') settled = true;
        dispatch(event, listener, resolve, reject);
      });
      worker.on('error', (error: Error & { code?: string }) => {
        settled = true;
        const message =
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `the job ran out of memory (its heap is limited to ${limit} MB): lower limits.concurrency or batching.recordsPerRequest, or set DROVER_JOB_HEAP_MB higher, then resume`
            : error.message;
        reject(new JobWorkerError('JobCrashError', message));
      });
      worker.on('exit', (code) => {
        this.worker = null;
        if (!settled) reject(new JobWorkerError('JobCrashError', `the job's worker exited (code ${code}) before finishing; resume the job`));
      });
    });
  }

  pause(reason?: string): void {
    this.send(reason === undefined ? { type: 'pause' } : { type: 'pause', reason });
  }

  cancel(): void {
    this.send({ type: 'cancel' });
  }

  abortInFlight(): void {
    this.send({ type: 'abortInFlight' });
  }

  private send(command: JobWorkerCommand): void {
    if (this.worker) this.worker.postMessage(command);
    else this.pending.push(command);
  }
}

function dispatch(
  event: JobWorkerEvent,
  listener: RunnerListener | undefined,
  resolve: (summary: JobSummary) => void,
  reject: (error: Error) => void,
): void {
  switch (event.type) {
    case 'progress':
      listener?.progress?.(event.progress);
      break;
    case 'log':
      listener?.log?.(event.event);
      break;
    case 'error':
      listener?.error?.(event.event);
      break;
    case 'summary':
      resolve(event.summary);
      break;
    case 'failed':
      reject(new JobWorkerError(event.name, event.message));
      break;
  }
}
