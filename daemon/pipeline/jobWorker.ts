// The entry of a job's worker thread: runs one JobRunner and relays its events.
import { parentPort, workerData } from 'node:worker_threads';
import { JobRunner } from './jobRunner';
import type { JobWorkerCommand, JobWorkerData, JobWorkerEvent } from './jobWorkerMessages';

const port = parentPort;
if (!port) throw new Error('jobWorker runs only as a worker thread');
const { spec, options } = workerData as JobWorkerData;
const post = (event: JobWorkerEvent) => port.postMessage(event);

const runner = new JobRunner(spec, {
  ...options,
  listener: {
    progress: (progress) => post({ type: 'progress', progress }),
    log: (event) => post({ type: 'log', event }),
    error: (event) => post({ type: 'error', event }),
  },
});

port.on('message', (command: JobWorkerCommand) => {
  if (command.type === 'pause') runner.pause(command.reason);
  else if (command.type === 'cancel') runner.cancel();
  else runner.abortInFlight();
});

runner.run().then(
  (summary) => post({ type: 'summary', summary }),
  (error: unknown) =>
    post({ type: 'failed', name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) }),
).finally(() => port.close());
