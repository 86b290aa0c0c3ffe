// `drover attach JOB`: the live progress line of a job running in the daemon, from its
// notifications, until the job stops. Ctrl-C detaches; the job goes on in the daemon.
import { parseArgs } from 'node:util';
import { parseCurrency, usd, type Currency } from '../../cost/currency';
import type { DaemonClient } from '../../daemonClient/daemonClient';
import { jobSummaryOf, type JobSummary } from '../../protocol/jobProgress';
import type { JobInfo } from '../../protocol/rpc';
import { ExitCode, UsageError, type CliCommand } from '../command';
import { formatCount } from '../format';
import { LiveLine } from '../liveLine';
import { progressLine, summaryText } from '../progressLine';
import { stateDirectory } from '../stateDir';
import { reportingDaemonErrors, requireDaemon } from './daemon';
import { exitCodeFor } from '../runInTerminal';

const usage = `drover attach JOB [options]

Shows the live progress of a job in the daemon until it stops, then its summary. Ctrl-C
detaches: the job goes on in the daemon. Exits like "drover run" by the job's final state:
0 all done · 1 done with failed records · 3 stopped for a reason you must fix · 4 paused.

Options:
  --json                 print NDJSON events on stdout, ending with one summary object
  --state-dir DIR        the daemon's state directory (default $DROVER_HOME or ~/.drover)
  --currency CODE:RATE   show costs in another currency, e.g. JPY:150`;

export interface AttachOptions {
  json: boolean;
  currency: Currency;
}

const jsonProgressEveryMs = 1000;

/** A job the daemon has not run since it started: only the ledger's numbers are known. */
function summaryOfInfo(info: JobInfo): JobSummary {
  const { records } = info;
  return {
    type: 'summary',
    jobId: info.jobId,
    status: info.status,
    statusReason: info.statusReason,
    records: { total: records.total ?? records.done + records.failed, done: records.done, failed: records.failed },
    requests: 0,
    retries: 0,
    rateLimited: 0,
    tokens: info.tokens,
    costUsd: info.costUsd,
    elapsedSec: 0,
  };
}

/** Follows the job until it stops (or the user detaches); returns the exit code. */
export async function attachToJob(client: DaemonClient, jobId: string, options: AttachOptions): Promise<number> {
  const live = new LiveLine(process.stderr);
  const emit = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);
  let lastJsonProgress = 0;
  let resolveExit: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  // The end can be seen twice (job.state racing the subscribe answer): report it once.
  let ended = false;
  const end = (code: number, report: () => void) => {
    if (ended) return;
    ended = true;
    live.clear();
    report();
    resolveExit(code);
  };
  const finish = (summary: JobSummary, pauseClass: string | null) =>
    end(exitCodeFor(summary, pauseClass), () => {
      if (options.json) emit(summary);
      else process.stderr.write(`${summaryText(summary, options.currency)}\n`);
    });
  const stopListening = [
    client.on('job.progress', (progress) => {
      if (progress.jobId !== jobId) return;
      if (!options.json) {
        live.update(`${jobId}  ${progressLine(progress, options.currency)}`);
        return;
      }
      const now = Date.now();
      if (now - lastJsonProgress < jsonProgressEveryMs) return;
      lastJsonProgress = now;
      emit({ type: 'progress', ...progress });
    }),
    client.on('job.log', (event) => {
      if (event.jobId !== jobId) return;
      if (options.json) emit({ type: 'log', ...event });
      else live.print(`[${event.level}] ${event.message}`);
    }),
    client.on('job.error', (group) => {
      if (group.jobId !== jobId) return;
      if (options.json) emit({ type: 'error', ...group });
      else if (group.outcome === 'failed' || group.outcome === 'fatal') {
        live.print(`✖ ${group.errorClass} ×${formatCount(group.count)}: ${group.sampleKey ? `record ${group.sampleKey}: ` : ''}${group.sampleMessage}`);
      }
    }),
    client.on('job.state', (state) => {
      if (state.jobId !== jobId || state.active) return;
      if (state.status === 'deleted') end(ExitCode.usage, () => process.stderr.write(`${jobId} was deleted\n`));
      else if (state.progress) finish(jobSummaryOf(state.progress), state.pauseClass);
      else {
        void client.call('job.get', { jobId }).then(
          (detail) => finish(summaryOfInfo(detail.info), state.pauseClass),
          (error: unknown) => end(ExitCode.internal, () => process.stderr.write(`${jobId} stopped; cannot read it: ${String(error)}\n`)),
        );
      }
    }),
    client.onClose((reason) =>
      end(ExitCode.paused, () => process.stderr.write(`lost the daemon (${reason}); a job it was running resumes when a daemon starts again\n`)),
    ),
  ];
  const detach = () => end(ExitCode.ok, () => process.stderr.write(`detached; ${jobId} goes on in the daemon ("drover attach ${jobId}" to watch again)\n`));
  process.once('SIGINT', detach);
  try {
    const snapshot = await client.call('job.subscribe', { jobId });
    if (!snapshot.info.active) {
      const progress = snapshot.progress;
      finish(progress ? jobSummaryOf(progress) : summaryOfInfo(snapshot.info), progress?.pauseClass ?? null);
    } else if (snapshot.progress && !options.json) {
      live.update(`${jobId}  ${progressLine(snapshot.progress, options.currency)}`);
    }
    return await exitCode;
  } finally {
    process.off('SIGINT', detach);
    for (const stop of stopListening) stop();
  }
}

export const attachCommand: CliCommand = {
  name: 'attach',
  summary: 'Watch a job running in the daemon (Ctrl-C detaches; the job goes on)',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false }, 'state-dir': { type: 'string' }, currency: { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError('drover attach needs exactly one JOB name');
    const currency = values.currency ?? process.env.DROVER_CURRENCY;
    const { client } = await requireDaemon(stateDirectory(values['state-dir']));
    try {
      return await reportingDaemonErrors('attach', () =>
        attachToJob(client, positionals[0], { json: values.json, currency: currency ? parseCurrency(currency) : usd }),
      );
    } finally {
      await client.close();
    }
  },
};
