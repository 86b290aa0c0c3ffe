import { parseArgs } from 'node:util';
import { parseCurrency, usd } from '../../cost/currency';
import { JobSetupError } from '../../pipeline/jobSetup';
import { JobRunner } from '../../pipeline/jobRunner';
import type { JobSummary } from '../../protocol/jobProgress';
import { loadSpecFile } from '../../spec/loadSpec';
import type { JobSpec } from '../../spec/jobSpec';
import { ExitCode, UsageError, type CliCommand } from '../command';
import { progressLine, summaryText } from '../progressLine';
import { stateDirectory } from '../stateDir';
import { LiveLine } from '../liveLine';

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

export function exitCodeFor(summary: JobSummary, pauseClass: string | null): number {
  if (summary.status === 'done') return summary.records.failed > 0 ? ExitCode.recordsFailed : ExitCode.ok;
  if (summary.status === 'paused' && pauseClass !== null && pauseClass !== 'user') return ExitCode.jobFatal;
  return ExitCode.paused;
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
    const json = values.json;
    const live = new LiveLine(process.stderr);
    const emit = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);
    let lastJsonProgress = 0;
    let pauseClass: string | null = null;

    const runner = new JobRunner(spec, {
      stateDir: stateDirectory(values['state-dir']),
      retryFailed: values['retry-failed'],
      listener: {
        progress(progress) {
          pauseClass = progress.pauseClass;
          if (json) {
            const now = Date.now();
            if (now - lastJsonProgress >= 1000) {
              lastJsonProgress = now;
              emit({ type: 'progress', ...progress });
            }
          } else {
            live.update(`${spec.name}  ${progressLine(progress, display)}`);
          }
        },
        log(event) {
          if (json) emit({ type: 'log', ...event });
          else live.print(`[${event.level}] ${event.message}`);
        },
        error(event) {
          if (json) emit({ type: 'error', ...event });
          else if (event.outcome === 'failed' || event.outcome === 'fatal') live.print(`✖ ${event.key ? `record ${event.key}: ` : ''}${event.errorClass}: ${event.message}`);
        },
      },
    });

    let interrupts = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      interrupts += 1;
      if (interrupts === 1) {
        live.print(`${signal}: pausing — finishing requests in flight (Ctrl-C again to stop them now)`);
        runner.pause(`paused by ${signal}`);
      } else {
        runner.abortInFlight();
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const summary = await runner.run();
      live.clear();
      if (json) emit(summary);
      else process.stderr.write(`${summaryText(summary, display)}\n`);
      return exitCodeFor(summary, pauseClass);
    } catch (error) {
      live.clear();
      if (error instanceof JobSetupError) {
        process.stderr.write(`drover run: ${error.message}\n`);
        return ExitCode.jobFatal;
      }
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
