import { parseArgs } from 'node:util';
import { formatCost, parseCurrency, usd } from '../../cost/currency';
import { batchDiscount } from '../../cost/prices';
import { estimateJob } from '../../estimate/estimateJob';
import type { JobEstimate } from '../../protocol/estimate';
import { loadSpecFile } from '../../spec/loadSpec';
import { ExitCode, UsageError, type CliCommand } from '../command';
import { formatCount, formatDuration, formatTokens } from '../format';
import { applyLimitFlags } from './run';

const usage = `drover estimate SPEC [options]

Counts the source's records and tokens (all of them, or a stated sample for large
sources), packs them as the run will, and prints tokens, requests, cost for the chosen
model beside the alternatives, and the expected duration under the limits.

Options:
  --sample N             records to read when the source is too large to scan (default 5000)
  --full-scan-limit N    scan sources up to this many records whole (default 200000)
  --rpm N, --tpm N       estimate the duration under these limits instead of the spec's
  --currency CODE:RATE   show costs in another currency, e.g. JPY:150
  --json                 print the estimate as JSON`;

function render(estimate: JobEstimate, currency: Parameters<typeof formatCost>[1]): string {
  const { records, tokens } = estimate;
  const basis =
    records.basis === 'all'
      ? 'all scanned'
      : records.basis === 'random'
        ? `estimated from a random sample of ${formatCount(records.scanned)}`
        : `estimated from the first ${formatCount(records.scanned)} records (the source cannot be sampled at random)`;
  const lines = [
    `${estimate.jobId}: ${records.totalExact ? '' : '~'}${formatCount(records.total)} records (${basis})`,
    `  input ${formatTokens(tokens.prompt)} tokens (${tokens.perRecordInput.toFixed(0)} per record) in ${formatCount(estimate.requests)} requests · output ≈ ${formatTokens(tokens.output)} tokens · tokenizer ${estimate.tokenizer.name}${estimate.tokenizer.exact ? '' : ' (estimate)'}`,
  ];
  const problems = [
    records.malformed ? `${formatCount(records.malformed)} malformed` : '',
    records.templateErrors ? `${formatCount(records.templateErrors)} template errors` : '',
    records.oversize ? `${formatCount(records.oversize)} too large` : '',
  ].filter(Boolean);
  if (problems.length > 0) lines.push(`  will fail: ${problems.join(', ')}`);
  if (estimate.pricing === 'batch') {
    lines.push(`  batch mode: priced at the batch API's ${batchDiscount.factor * 100}% of the online price (${batchDiscount.source})`);
  }
  lines.push('', `  ${'model'.padEnd(24)} ${'in $/M'.padStart(8)} ${'out $/M'.padStart(8)} ${'cost'.padStart(12)}`);
  for (const model of estimate.models) {
    const price = (value: number | null) => (value === null ? '?' : value.toFixed(3)).padStart(8);
    const cost = model.costUsd === null ? 'no price' : formatCost(model.costUsd, currency);
    lines.push(`${model.chosen ? '▸' : ' '} ${model.model.padEnd(24)} ${price(model.inputPerMTok)} ${price(model.outputPerMTok)} ${cost.padStart(12)}`);
  }
  const { duration } = estimate;
  lines.push(
    '',
    duration.seconds === null
      ? `  duration: ${duration.note}`
      : `  duration ≈ ${formatDuration(duration.seconds)} (limited by ${duration.limitedBy}) ${duration.note}`,
  );
  return lines.join('\n');
}

export const estimateCommand: CliCommand = {
  name: 'estimate',
  summary: 'Estimate tokens, cost and duration before running',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        sample: { type: 'string' },
        'full-scan-limit': { type: 'string' },
        rpm: { type: 'string' },
        tpm: { type: 'string' },
        currency: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('drover estimate needs exactly one SPEC file');
    const count = (flag: string, value: string | undefined) => {
      if (value === undefined) return undefined;
      const number = Number(value);
      if (!Number.isInteger(number) || number < 1) throw new UsageError(`--${flag} needs a positive whole number`);
      return number;
    };
    const spec = applyLimitFlags(await loadSpecFile(positionals[0]), values);
    const estimate = await estimateJob(spec, { sampleSize: count('sample', values.sample), fullScanLimit: count('full-scan-limit', values['full-scan-limit']) });
    const currency = values.currency ?? process.env.DROVER_CURRENCY;
    if (values.json) process.stdout.write(`${JSON.stringify(estimate)}\n`);
    else process.stdout.write(`${render(estimate, currency ? parseCurrency(currency) : usd)}\n`);
    return ExitCode.ok;
  },
};
