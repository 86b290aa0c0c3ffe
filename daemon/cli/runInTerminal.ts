// Runs a job in this process with a terminal's view of it: the live line (or NDJSON events
// with --json), failures printed as they happen (the first few), Ctrl-C to pause, and the
// summary and exit code at the end. Shared by `drover run` and `drover demo`.
import type { Currency } from '../cost/currency';
import { IsolatedJobRunner } from '../pipeline/isolatedJobRunner';
import type { JobSummary } from '../protocol/jobProgress';
import type { JobSpec } from '../spec/jobSpec';
import { ExitCode } from './command';
import { LiveLine } from './liveLine';
import { progressLine, summaryText } from './progressLine';

const failuresShown = 20;

export function exitCodeFor(summary: JobSummary, pauseClass: string | null): number {
  if (summary.status === 'done') return summary.records.failed > 0 ? ExitCode.recordsFailed : ExitCode.ok;
  if (summary.status === 'paused' && pauseClass !== null && pauseClass !== 'user') return ExitCode.jobFatal;
  return ExitCode.paused;
}

export interface TerminalRunOptions {
  stateDir: string;
  json: boolean;
  retryFailed: boolean;
  currency: Currency;
  /** Extra environment for the job (keys), besides the process's own. */
  env?: Record<string, string | undefined>;
  onSummary?(summary: JobSummary): void;
}

export async function runInTerminal(spec: JobSpec, options: TerminalRunOptions): Promise<number> {
  const { json, currency } = options;
  const live = new LiveLine(process.stderr);
  const emit = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);
  let lastJsonProgress = 0;
  let pauseClass: string | null = null;
  let failuresPrinted = 0;

  const runner = new IsolatedJobRunner(spec, {
    stateDir: options.stateDir,
    retryFailed: options.retryFailed,
    env: { ...process.env, ...options.env },
    listener: {
      progress(progress) {
        pauseClass = progress.pauseClass;
        if (!json) {
          live.update(`${spec.name}  ${progressLine(progress, currency)}`);
          return;
        }
        const now = Date.now();
        if (now - lastJsonProgress >= 1000) {
          lastJsonProgress = now;
          emit({ type: 'progress', ...progress });
        }
      },
      log(event) {
        if (json) emit({ type: 'log', ...event });
        else live.print(`[${event.level}] ${event.message}`);
      },
      error(event) {
        if (json) {
          emit({ type: 'error', ...event });
          return;
        }
        if (event.outcome !== 'failed') return;
        failuresPrinted += 1;
        if (failuresPrinted <= failuresShown) live.print(`✖ ${event.key ? `record ${event.key}: ` : ''}${event.errorClass}: ${event.message}`);
        else if (failuresPrinted === failuresShown + 1) live.print(`… more failed records: see \`drover export ${spec.name} --status failed\``);
      },
    },
  });

  let interrupts = 0;
  let terminated = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (signal === 'SIGTERM') terminated = true;
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
    else process.stderr.write(`${summaryText(summary, currency)}\n`);
    options.onSummary?.(summary);
    // A service manager's SIGTERM asks for a clean stop, and got one: the job is paused and
    // checkpointed, and the next run resumes it. Ctrl-C (SIGINT) keeps the "paused" code.
    if (terminated && summary.status === 'paused' && pauseClass === 'user') return ExitCode.ok;
    return exitCodeFor(summary, pauseClass);
  } catch (error) {
    live.clear();
    // A missing key, or a job that ran out of memory: the user has something to fix, then resume.
    if (error instanceof Error && (error.name === 'JobSetupError' || error.name === 'JobCrashError')) {
      process.stderr.write(`drover: ${error.message}\n`);
      return ExitCode.jobFatal;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
