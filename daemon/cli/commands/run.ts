import { parseArgs } from 'node:util';
import { parseCurrency, usd } from '../../cost/currency';
import { loadSpecFile } from '../../spec/loadSpec';
import type { JobSpec } from '../../spec/jobSpec';
import { UsageError, type CliCommand } from '../command';
import { runInTerminal } from '../runInTerminal';
import { stateDirectory } from '../stateDir';

const usage = `drover run SPEC [options]

Runs the job in SPEC (a *.drover.json file) in this process. Running the same spec again
resumes it: finished records are never sent again. Ctrl-C pauses cleanly (a second
Ctrl-C stops requests in flight at once).

Options:
  --json                 print NDJSON events on stdout, ending with one summary object
  --state-dir DIR        where ledgers live (default $DROVER_HOME or ~/.drover)
  --concurrency N        override limits.concurrency
  --rpm N                override limits.rpm (requests per minute)
  --tpm N                override limits.tpm (tokens per minute)
  --budget USD           override limits.budgetUsd (a hard cap)
  --retry-failed         send records that failed in earlier runs again
  --currency CODE:RATE   show costs in another currency, e.g. JPY:150 (or $DROVER_CURRENCY)

Exit codes: 0 all done · 1 done with failed records · 2 bad usage or spec ·
3 stopped for a reason you must fix (key, quota, model, budget, endpoint) · 4 paused`;

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
      },
    });
    if (positionals.length !== 1) throw new UsageError('drover run needs exactly one SPEC file');
    const currency = values.currency ?? process.env.DROVER_CURRENCY;
    const display = currency ? parseCurrency(currency) : usd;
    const spec = applyLimitFlags(await loadSpecFile(positionals[0]), values);
    return runInTerminal(spec, {
      stateDir: stateDirectory(values['state-dir']),
      json: values.json,
      retryFailed: values['retry-failed'],
      currency: display,
    });
  },
};
