import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCurrency, usd, type Currency } from '../../cost/currency';
import { DaemonRpcError } from '../../daemonClient/daemonClient';
import { rpcErrorCode } from '../../protocol/rpc';
import { loadSpecFile } from '../../spec/loadSpec';
import type { JobSpec } from '../../spec/jobSpec';
import { UsageError, type CliCommand } from '../command';
import { runInTerminal } from '../runInTerminal';
import { stateDirectory } from '../stateDir';
import { attachToJob } from './attach';
import { connectOrStartDaemon, keysFromEnvironment, reportingDaemonErrors } from './daemon';

const usage = `drover run SPEC [options]

Runs the job in SPEC (a *.drover.json file) in this process. Running the same spec again
resumes it: finished records are never sent again. Ctrl-C pauses cleanly (a second
Ctrl-C stops requests in flight at once).

With --daemon the job runs in the daemon instead (one is started, detached, if none is
running) and this command attaches to it: Ctrl-C then only detaches and the job goes on —
"drover attach JOB" watches it again, "drover pause JOB" pauses it.

Options:
  --daemon               submit the job to the daemon, then attach to it
  --json                 print NDJSON events on stdout, ending with one summary object
  --state-dir DIR        where ledgers live (default $DROVER_HOME or ~/.drover)
  --concurrency N        override limits.concurrency
  --rpm N                override limits.rpm (requests per minute)
  --tpm N                override limits.tpm (tokens per minute)
  --budget USD           override limits.budgetUsd (a hard cap)
  --retry-failed         send records that failed in earlier runs again
  --currency CODE:RATE   show costs in another currency, e.g. JPY:150 (or $DROVER_CURRENCY)

Exit codes: 0 all done · 1 done with failed records · 2 bad usage or spec ·
3 stopped for a reason you must fix (key, quota, model, budget, endpoint) · 4 paused by
Ctrl-C. SIGTERM pauses the same way (the job resumes on the next run) and exits 0.`;

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`--${flag} needs a positive number, got "${value}"`);
  return number;
}

export function applyLimitFlags(spec: JobSpec, flags: { concurrency?: string; rpm?: string; tpm?: string; budget?: string }): JobSpec {
  const concurrency = positiveNumber('concurrency', flags.concurrency);
  const rpm = positiveNumber('rpm', flags.rpm);
  const tpm = positiveNumber('tpm', flags.tpm);
  const budgetUsd = positiveNumber('budget', flags.budget);
  return {
    ...spec,
    limits: {
      ...spec.limits,
      ...(concurrency === undefined ? {} : { concurrency: Math.floor(concurrency) }),
      ...(rpm === undefined ? {} : { rpm }),
      ...(tpm === undefined ? {} : { tpm }),
      ...(budgetUsd === undefined ? {} : { budgetUsd }),
    },
  };
}

/** `--daemon`: hands the job to the daemon (with this shell's keys, memory only) and attaches. */
async function runInDaemon(spec: JobSpec, baseDir: string, options: { stateDir: string; json: boolean; retryFailed: boolean; currency: Currency }): Promise<number> {
  const { daemon, started } = await connectOrStartDaemon(options.stateDir);
  if (started) process.stderr.write(`started a daemon (pid ${daemon.pid}, port ${daemon.port}) for ${options.stateDir}\n`);
  const { client } = daemon;
  try {
    return await reportingDaemonErrors('run', async () => {
      try {
        await client.call('job.start', { spec, baseDir, secrets: keysFromEnvironment(spec, process.env), retryFailed: options.retryFailed });
      } catch (error) {
        if (!(error instanceof DaemonRpcError && error.code === rpcErrorCode.jobRunning)) throw error;
        process.stderr.write(`${spec.name} is already running in the daemon; attaching to it\n`);
      }
      return attachToJob(client, spec.name, { json: options.json, currency: options.currency });
    });
  } finally {
    await client.close();
  }
}

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'Run (or resume) a job spec in this process',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        'state-dir': { type: 'string' },
        concurrency: { type: 'string' },
        rpm: { type: 'string' },
        tpm: { type: 'string' },
        budget: { type: 'string' },
        'retry-failed': { type: 'boolean', default: false },
        currency: { type: 'string' },
        daemon: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('drover run needs exactly one SPEC file');
    const currency = values.currency ?? process.env.DROVER_CURRENCY;
    const display = currency ? parseCurrency(currency) : usd;
    const spec = applyLimitFlags(await loadSpecFile(positionals[0]), values);
    if (values.daemon) {
      return runInDaemon(spec, dirname(resolve(positionals[0])), {
        stateDir: stateDirectory(values['state-dir']),
        json: values.json,
        retryFailed: values['retry-failed'],
        currency: display,
      });
    }
    return runInTerminal(spec, {
      stateDir: stateDirectory(values['state-dir']),
      json: values.json,
      retryFailed: values['retry-failed'],
      currency: display,
    });
  },
};
