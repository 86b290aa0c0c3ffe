// Messages between a job's worker thread and the thread that started it.
import type { JobErrorEvent, JobLogEvent, JobProgress, JobSummary } from '../protocol/jobProgress';
import type { JobSpec } from '../spec/jobSpec';
import type { RunnerOptions } from './jobRunner';

/** What the worker needs to run the job: all of it structured-cloneable. */
export interface JobWorkerData {
  spec: JobSpec;
  options: Omit<RunnerOptions, 'listener' | 'clock'>;
}

export type JobWorkerCommand = { type: 'pause'; reason?: string } | { type: 'cancel' } | { type: 'abortInFlight' };

export type JobWorkerEvent =
  | { type: 'progress'; progress: JobProgress }
  | { type: 'log'; event: JobLogEvent }
  | { type: 'error'; event: JobErrorEvent }
  | { type: 'summary'; summary: JobSummary }
  | { type: 'failed'; name: string; message: string };
