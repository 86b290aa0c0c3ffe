import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Ledger, ledgerPath } from '../../ledger/ledger';
import { csvHeader, csvRow } from '../../sinks/csvSink';
import { jsonlLine } from '../../sinks/jsonlSink';
import { outputColumns } from '../../sinks/outputColumns';
import { loadSpecFile } from '../../spec/loadSpec';
import { ExitCode, UsageError, type CliCommand } from '../command';
import { stateDirectory } from '../stateDir';

const usage = `drover export JOB [options]

Writes the results of a job — finished or not — from its ledger. JOB is a job name or
its spec file.

Options:
  --format jsonl|csv     default: from --out's extension, else jsonl
  --out FILE             write to FILE instead of standard output
  --status done|failed   only records with this status (default: both)
  --state-dir DIR        where ledgers live (default $DROVER_HOME or ~/.drover)`;

async function jobName(argument: string): Promise<string> {
  if (/\.json$/i.test(argument) && existsSync(argument)) return (await loadSpecFile(argument)).name;
  return argument;
}

export const exportCommand: CliCommand = {
  name: 'export',
  summary: "Write a job's results (finished or not) as JSONL or CSV",
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { format: { type: 'string' }, out: { type: 'string' }, status: { type: 'string' }, 'state-dir': { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError('drover export needs exactly one JOB (a name or a spec file)');
    const format = values.format ?? (values.out?.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl');
    if (format !== 'jsonl' && format !== 'csv') throw new UsageError(`--format must be jsonl or csv, not "${format}"`);
    const status = values.status;
    if (status !== undefined && status !== 'done' && status !== 'failed') throw new UsageError('--status must be done or failed');
    const stateDir = stateDirectory(values['state-dir']);
    const name = await jobName(positionals[0]);
    if (!existsSync(ledgerPath(stateDir, name))) throw new UsageError(`no job "${name}" in ${stateDir} (see drover jobs)`);

    const ledger = Ledger.openReadOnly(stateDir, name);
    const out = values.out ? createWriteStream(values.out) : process.stdout;
    const write = async (text: string) => {
      if (!out.write(text)) await once(out, 'drain');
    };
    try {
      const job = ledger.job();
      const columns = outputColumns(job ? ((JSON.parse(job.specJson) as { output: Record<string, unknown> }).output) : {});
      if (format === 'csv') await write(csvHeader(columns));
      let rows = 0;
      for (const row of ledger.finished(status ? { status } : {})) {
        await write(format === 'csv' ? csvRow(row, columns) : jsonlLine(row));
        rows += 1;
      }
      if (values.out) {
        out.end();
        await once(out, 'finish');
        process.stderr.write(`wrote ${rows} records of ${name} (${job?.status ?? 'unknown'}) to ${values.out}\n`);
      }
    } finally {
      ledger.close();
    }
    return ExitCode.ok;
  },
};
