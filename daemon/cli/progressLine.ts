// The live one-line status of a job on a terminal, and the closing summary.
import { formatCost, type Currency } from '../cost/currency';
import type { JobProgress, JobSummary } from '../protocol/jobProgress';
import { formatCount, formatDuration, formatTokens } from './format';

export function progressLine(progress: JobProgress, currency: Currency): string {
  const { records } = progress;
  const finished = records.done + records.failed;
  const total = records.total === null ? '?' : `${records.totalExact ? '' : '~'}${formatCount(records.total)}`;
  const percent = records.total ? ` (${((finished / Math.max(1, records.total)) * 100).toFixed(1)}%)` : '';
  const parts = [
    `${formatCount(finished)} / ${total}${percent}`,
    `${formatCount(Math.round(progress.rates.recordsPerSec))} rec/s`,
    `ETA ${progress.etaSec === null ? '—' : formatDuration(progress.etaSec)}`,
    `failed ${formatCount(records.failed)}`,
    `retries ${formatCount(progress.retries)}`,
    formatCost(progress.costUsd, currency),
  ];
  if (progress.rateLimited > 0) parts.push(`429s ${formatCount(progress.rateLimited)}`);
  if (progress.batch) parts.push(progress.batch.state);
  if (progress.headroom.holdMs > 0) parts.push(`holding ${formatDuration(progress.headroom.holdMs / 1000)}`);
  return parts.join(' · ');
}

export function summaryText(summary: JobSummary, currency: Currency): string {
  const { records } = summary;
  const rate = summary.elapsedSec > 0 ? ` — ${formatCount(Math.round((records.done + records.failed) / summary.elapsedSec))} rec/s` : '';
  const head =
    summary.status === 'done'
      ? `${records.failed === 0 ? '✔' : '⚠'} ${summary.jobId}: ${formatCount(records.done)} done, ${formatCount(records.failed)} failed of ${formatCount(records.total)} in ${formatDuration(summary.elapsedSec)}${rate}`
      : `■ ${summary.jobId} ${summary.status}: ${formatCount(records.done)} done, ${formatCount(records.failed)} failed of ${formatCount(records.total)}${summary.statusReason ? `\n  ${summary.statusReason}` : ''}`;
  return [
    head,
    `  requests ${formatCount(summary.requests)} (retries ${formatCount(summary.retries)}, rate-limited ${formatCount(summary.rateLimited)}) · tokens ${formatTokens(summary.tokens.prompt)} in / ${formatTokens(summary.tokens.completion)} out · cost ${formatCost(summary.costUsd, currency)}`,
  ].join('\n');
}
