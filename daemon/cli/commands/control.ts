// `drover pause|resume|cancel JOB`: ask the daemon to change a job's state.
import { parseArgs } from 'node:util';
import type { JobInfo } from '../../protocol/rpc';
import { validateSpec } from '../../spec/loadSpec';
import { parseCurrency, usd } from '../../cost/currency';
import { ExitCode, UsageError, type CliCommand } from '../command';
import { stateDirectory } from '../stateDir';
import { attachToJob } from './attach';
import { keysFromEnvironment, reportingDaemonErrors, requireDaemon } from './daemon';

function describe(info: JobInfo): string {
  const state = info.active ? 'running' : info.status;
  return `${info.jobId}: ${state}${info.statusReason ? ` (${info.statusReason})` : ''}`;
}

function controlCommand(name: 'pause' | 'cancel', summary: string, explanation: string): CliCommand {
  return {
    name,
    summary,
    usage: `drover ${name} JOB [--state-dir DIR]\n\n${explanation}`,
    async run(argv) {
      const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'state-dir': { type: 'string' } } });
      if (positionals.length !== 1) throw new UsageError(`drover ${name} needs exactly one JOB name`);
      const { client } = await requireDaemon(stateDirectory(values['state-dir']));
      try {
        return await reportingDaemonErrors(name, async () => {
          const { info } = await client.call(name === 'pause' ? 'job.pause' : 'job.cancel', { jobId: positionals[0] });
          const note = info.active ? (name === 'pause' ? ': requests in flight finish first' : ': requests in flight are aborted') : '';
          process.stderr.write(`${name === 'pause' ? '⏸ pausing' : '✖ cancelled'} ${info.jobId}${note}\n`);
          return ExitCode.ok;
        });
      } finally {
        await client.close();
      }
    },
  };
}

export const pauseCommand = controlCommand(
  'pause',
  'Pause a job running in the daemon (requests in flight finish first)',
  'Stops admitting requests, lets those in flight finish, and leaves the job paused;\n"drover resume JOB" goes on from where it stopped.',
);

export const cancelCommand = controlCommand(
  'cancel',
  'Cancel a job in the daemon (requests in flight are aborted)',
  'Stops the job now; finished records stay in the ledger. A cancelled job can be resumed.',
);

export const resumeCommand: CliCommand = {
  name: 'resume',
  summary: 'Resume a paused job in the daemon',
  usage: `drover resume JOB [options]

Resumes the job in the daemon from its ledger: finished records are never sent again. The
API keys this shell has for the job's endpoints are handed to the daemon (memory only).

Options:
  --attach               show the live progress afterwards (like drover attach)
  --json                 with --attach, print NDJSON events on stdout
  --retry-failed         send records that failed in earlier runs again
  --state-dir DIR        the daemon's state directory (default $DROVER_HOME or ~/.drover)
  --currency CODE:RATE   with --attach, show costs in another currency`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        attach: { type: 'boolean', default: false },
        'retry-failed': { type: 'boolean', default: false },
        'state-dir': { type: 'string' },
        currency: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('drover resume needs exactly one JOB name');
    const jobId = positionals[0];
    const currency = values.currency ?? process.env.DROVER_CURRENCY;
    const { client } = await requireDaemon(stateDirectory(values['state-dir']));
    try {
      return await reportingDaemonErrors('resume', async () => {
        const detail = await client.call('job.get', { jobId });
        const spec = validateSpec(detail.spec, `the stored spec of job "${jobId}"`);
        const { info } = await client.call('job.resume', { jobId, secrets: keysFromEnvironment(spec, process.env), retryFailed: values['retry-failed'] });
        process.stderr.write(`▶ resumed ${describe(info)}\n`);
        if (!values.attach) return ExitCode.ok;
        return await attachToJob(client, jobId, { json: values.json, currency: currency ? parseCurrency(currency) : usd });
      });
    } finally {
      await client.close();
    }
  },
};
