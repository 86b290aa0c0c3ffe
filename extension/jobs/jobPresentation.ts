// How a job reads in the tree and the status bar: its display state, icon, one-line
// description and stats. Pure (no `vscode`), and the one place states map to icons.
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import type { JobInfo } from '../../daemon/protocol/rpc';
import { formatCount, formatDuration, formatRate, formatUsd } from '../../webview/shared/format';

/** `failed`: paused by a fatal error or the budget; it resumes once that is fixed. */
export type JobDisplayState = 'running' | 'paused' | 'failed' | 'done' | 'doneWithFailures' | 'cancelled';

/** Codicon ids; `~spin` animates. */
export const stateIcon: Record<JobDisplayState, string> = {
  running: 'loading~spin',
  paused: 'debug-pause',
  failed: 'error',
  done: 'pass',
  doneWithFailures: 'warning',
  cancelled: 'circle-slash',
};

export const stateLabel: Record<JobDisplayState, string> = {
  running: 'Running',
  paused: 'Paused',
  failed: 'Stopped on an error',
  done: 'Done',
  doneWithFailures: 'Done, some records failed',
  cancelled: 'Cancelled',
};

/** Reasons a pause is the user's or the daemon's own, not a problem to fix. */
const benignPause = /by the user|daemon stopped/i;

export function displayState(info: JobInfo, progress: JobProgress | null): JobDisplayState {
  switch (info.status) {
    case 'running':
      // A ledger that says running with no runner: the daemon that ran it went away.
      return info.active ? 'running' : 'paused';
    case 'paused': {
      const pauseClass = progress?.status === 'paused' ? progress.pauseClass : null;
      if (pauseClass !== null) return pauseClass === 'user' ? 'paused' : 'failed';
      return info.statusReason === null || benignPause.test(info.statusReason) ? 'paused' : 'failed';
    }
    case 'done':
      return info.records.failed > 0 ? 'doneWithFailures' : 'done';
    case 'cancelled':
      return 'cancelled';
  }
}

/** What the inline and context menus offer, as the tree item's contextValue. */
export function jobContextValue(state: JobDisplayState): string {
  const actions: string[] = [];
  if (state === 'running') actions.push('pausable', 'cancellable');
  if (state === 'paused' || state === 'failed') actions.push('resumable', 'cancellable');
  if (state !== 'running') actions.push('deletable');
  return ['drover.job', state, ...actions].join(' ');
}

/** `412,000 / 5,000,000 · 1,230/s · $12.40` (the rate only while running). */
export function jobDescription(info: JobInfo, progress: JobProgress | null): string {
  const processed = info.records.done + info.records.failed;
  const total = info.records.total === null ? '?' : `${info.records.totalExact ? '' : '~'}${formatCount(info.records.total)}`;
  const parts = [`${formatCount(processed)} / ${total}`];
  if (info.active && progress) parts.push(formatRate(progress.rates.recordsPerSec));
  parts.push(formatUsd(info.costUsd));
  return parts.join(' · ');
}

/** 0–1, or null without a total. */
export function jobFraction(info: JobInfo): number | null {
  const total = info.records.total;
  if (total === null || total <= 0) return null;
  return Math.min(1, (info.records.done + info.records.failed) / total);
}

export interface JobStat {
  id: string;
  label: string;
  value: string;
}

export function jobStats(info: JobInfo, progress: JobProgress | null): JobStat[] {
  const stats: JobStat[] = [
    { id: 'records', label: 'Records', value: `${formatCount(info.records.done)} done, ${formatCount(info.records.failed)} failed` },
    { id: 'tokens', label: 'Tokens', value: `${formatCount(info.tokens.prompt)} in, ${formatCount(info.tokens.completion)} out` },
    { id: 'cost', label: 'Cost', value: progress?.projectedCostUsd ? `${formatUsd(info.costUsd)} (projected ${formatUsd(progress.projectedCostUsd)})` : formatUsd(info.costUsd) },
  ];
  if (info.model) stats.push({ id: 'model', label: 'Model', value: info.model });
  if (progress) {
    stats.push(
      { id: 'requests', label: 'Requests', value: `${formatCount(progress.requests)} (${formatCount(progress.retries)} retried, ${formatCount(progress.rateLimited)} rate-limited)` },
      { id: 'elapsed', label: 'Elapsed', value: formatDuration(progress.elapsedSec) },
    );
    if (info.active) {
      stats.push(
        { id: 'rate', label: 'Throughput', value: `${formatRate(progress.rates.recordsPerSec)} records, ${formatRate(progress.rates.tokensPerSec)} tokens` },
        { id: 'inFlight', label: 'In flight', value: `${formatCount(progress.inFlight)} requests` },
        { id: 'eta', label: 'ETA', value: formatDuration(progress.etaSec) },
      );
    }
  }
  return stats;
}
