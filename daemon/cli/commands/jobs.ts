// `drover jobs`: every job in the state directory with its status, progress and cost —
// from the daemon when one runs (live numbers), else straight from the ledgers.
import { parseArgs } from 'node:util';
import { formatCost, parseCurrency, usd, type Currency } from '../../cost/currency';
import type { JobInfo } from '../../protocol/rpc';
import { JobCatalog } from '../../server/jobCatalog';
import { connectToLiveDaemon } from '../../daemonClient/findDaemon';
import { version } from '../../version';
import { ExitCode, UsageError, type CliCommand } from '../command';
import { formatCount, formatDuration } from '../format';
import { stateDirectory } from '../stateDir';

const usage = `drover jobs [options]

Lists the jobs in the state directory: name, status, records done of the total, failed
records, cost so far and when each last changed. Live numbers come from the daemon when
one is running; without one, the ledgers are read directly.

Options:
  --json                 print the list as JSON
  --state-dir DIR        the state directory (default $DROVER_HOME or ~/.drover)
  --currency CODE:RATE   show costs in another currency, e.g. JPY:150`;

function statusText(info: JobInfo): string {
  // A ledger that says running with no runner in the daemon: another process runs it, or it crashed.
  if (info.status === 'running' && !info.active) return 'running (not in the daemon)';
  return info.status;
}

function ago(iso: string, now: number): string {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  return `${formatDuration(seconds)} ago`;
}

export function jobsTable(jobs: readonly JobInfo[], currency: Currency, now = Date.now()): string {
  const header = ['NAME', 'STATUS', 'DONE / TOTAL', 'FAILED', 'COST', 'UPDATED'];
  const rows = jobs.map((info) => {
    const total = info.records.total === null ? '?' : `${info.records.totalExact ? '' : '~'}${formatCount(info.records.total)}`;
    return [info.jobId, statusText(info), `${formatCount(info.records.done)} / ${total}`, formatCount(info.records.failed), formatCost(info.costUsd, currency), ago(info.updatedAt, now)];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n');
}

export const jobsCommand: CliCommand = {
  name: 'jobs',
  summary: 'List jobs: status, progress, failures, cost',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false }, 'state-dir': { type: 'string' }, currency: { type: 'string' } },
    });
    if (positionals.length > 0) throw new UsageError(`drover jobs takes no arguments, got "${positionals.join(' ')}"`);
    const stateDir = stateDirectory(values['state-dir']);
    const daemon = await connectToLiveDaemon(stateDir, `drover-cli ${version}`);
    let jobs: JobInfo[];
    if (daemon) {
      try {
        jobs = (await daemon.client.call('job.list', {})).jobs;
      } finally {
        await daemon.client.close();
      }
    } else {
      jobs = new JobCatalog(stateDir, (text) => text).list(new Map(), (jobId, error) => process.stderr.write(`drover jobs: cannot read ${jobId}: ${String(error)}\n`));
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(jobs)}\n`);
      return ExitCode.ok;
    }
    const currency = values.currency ?? process.env.DROVER_CURRENCY;
    if (jobs.length === 0) process.stderr.write(`no jobs in ${stateDir}\n`);
    else process.stdout.write(`${jobsTable(jobs, currency ? parseCurrency(currency) : usd)}\n`);
    if (!daemon) process.stderr.write('(no daemon is running: read from the ledgers)\n');
    return ExitCode.ok;
  },
};
